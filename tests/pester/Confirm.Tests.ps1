# ShouldProcess and the two truly destructive cases. Normal use never prompts (a prompt in a
# -NonInteractive pwsh is an error); connecting over foreign files and resuming an empty root do ask,
# fail cleanly where no one can answer, and go ahead with -Force; -WhatIf changes nothing.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest

    function Invoke-NonInteractive([string] $Script) {
        <# Runs $Script in a fresh 'pwsh -NonInteractive' on this home; returns its output and exit code. #>
        $prelude = "`$ErrorActionPreference = 'Stop'; Import-Module '$(Get-WsyncModulePath)'; "
        $output = Invoke-Pwsh -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1
        [pscustomobject]@{ Output = ($output | Out-String); ExitCode = $LASTEXITCODE }
    }

    function Get-Tree([string] $Path) {
        @(Get-ChildItem -Recurse -Force -Name $Path | Sort-Object)
    }
}

AfterAll {
    Clear-WsyncTest $root
}

Describe 'Normal use never prompts' {
    It 'runs every changing cmdlet non-interactively with the default $ConfirmPreference' {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'plain')
        Set-Content (Join-Path $workspace 'a.txt') 'a'
        $mirror = New-Item -ItemType Directory (Join-Path $root 'plain-mirror')
        $script = @"
Start-WsyncDaemon
Add-WsyncWorkspace '$workspace' | Out-Null
Connect-WsyncRemote plain '$mirror' -Name disk | Out-Null
Sync-WsyncWorkspace plain
Suspend-WsyncWorkspace plain
Resume-WsyncWorkspace plain
Wait-WsyncWorkspace plain -TimeoutSec 30
Disconnect-WsyncRemote plain disk
Connect-WsyncRemote plain '$mirror' -Name again | Out-Null
Remove-WsyncWorkspace plain
Stop-WsyncDaemon
'all done'
"@
        $result = Invoke-NonInteractive $script

        $result.Output | Should -Match 'all done'
        $result.ExitCode | Should -Be 0 -Because $result.Output
        Get-Tree $mirror | Should -Be @('a.txt')
    }
}

Describe 'Connecting to a destination that holds other files' {
    BeforeAll {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'proj')
        Set-Content (Join-Path $workspace 'src.c') 'int x;'
        Add-WsyncWorkspace $workspace.FullName | Out-Null
    }

    It 'does not ask for an earlier mirror holding only what the workspace has' {
        $earlier = New-Item -ItemType Directory (Join-Path $root 'earlier')
        Set-Content (Join-Path $earlier 'src.c') 'old'
        $result = Invoke-NonInteractive "Connect-WsyncRemote proj '$earlier' -Name earlier | Out-Null; 'connected'"
        $result.Output | Should -Match 'connected'
        Get-Content (Join-Path $earlier 'src.c') | Should -Be 'int x;'
        Disconnect-WsyncRemote proj earlier
    }

    It 'asks, fails without a prompt in -NonInteractive and changes nothing; -Force mirrors' {
        $foreign = New-Item -ItemType Directory (Join-Path $root 'someone-elses')
        Set-Content (Join-Path $foreign 'precious.doc') 'keep me'
        New-Item -ItemType Directory (Join-Path $foreign 'photos') | Out-Null
        $before = Get-Tree $foreign

        $result = Invoke-NonInteractive "try { Connect-WsyncRemote proj '$foreign' } catch { 'ERROR ' + `$_.FullyQualifiedErrorId + ' ' + `$_.CategoryInfo.Category + ' ' + `$_.TargetObject + ' ' + `$_ }"

        $result.Output | Should -Match "ERROR DestinationHoldsOtherFiles,Wsync.Commands.ConnectWsyncRemote ResourceExists $([regex]::Escape($foreign.FullName))"
        $result.Output | Should -Match "'photos', 'precious.doc'.*-Force"
        Get-Tree $foreign | Should -Be $before
        Get-WsyncRemote proj | Should -BeNullOrEmpty

        $remote = Connect-WsyncRemote proj $foreign.FullName -Force
        $remote.State | Should -Be 'InSync'
        Get-Tree $foreign | Should -Be @('src.c')
    }
}

Describe 'Resuming a workspace whose root is empty' {
    BeforeAll {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'emptied')
        Set-Content (Join-Path $workspace 'data.bin') 'data'
        $mirror = New-Item -ItemType Directory (Join-Path $root 'emptied-mirror')
        Add-WsyncWorkspace $workspace.FullName | Out-Null
        Connect-WsyncRemote emptied $mirror.FullName | Out-Null
        Remove-Item (Join-Path $workspace 'data.bin')
        Wait-Until { (Get-WsyncWorkspace emptied).State -eq 'Halted' } -Because 'the safety stop'
    }

    It 'asks, fails without a prompt in -NonInteractive and changes nothing; -Force mirrors the emptiness' {
        $result = Invoke-NonInteractive "try { Resume-WsyncWorkspace emptied } catch { 'ERROR ' + `$_.FullyQualifiedErrorId + ' ' + `$_.CategoryInfo.Category + ' ' + `$_.TargetObject + ' ' + `$_ }"

        $result.Output | Should -Match 'ERROR ResumeWouldEmptyRemotes,Wsync.Commands.ResumeWsyncWorkspace InvalidOperation emptied .*-Force'
        (Get-WsyncWorkspace emptied).State | Should -Be 'Halted'
        Get-Tree $mirror | Should -Be @('data.bin')

        Resume-WsyncWorkspace emptied -Force
        Wait-WsyncWorkspace emptied -TimeoutSec 30
        Get-Tree $mirror | Should -BeNullOrEmpty
    }

    It 'does not ask once the root is restored' {
        Set-Content (Join-Path $root 'emptied/data.bin') 'restored'
        Suspend-WsyncWorkspace emptied
        $result = Invoke-NonInteractive "Resume-WsyncWorkspace emptied; 'resumed'"
        $result.Output | Should -Match 'resumed'
        Wait-WsyncWorkspace emptied -TimeoutSec 30
        Get-Content (Join-Path $mirror 'data.bin') | Should -Be 'restored'
    }
}

Describe '-WhatIf changes nothing' {
    BeforeAll {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'whatif')
        Set-Content (Join-Path $workspace 'f') 'f'
        $mirror = New-Item -ItemType Directory (Join-Path $root 'whatif-mirror')
        Add-WsyncWorkspace $workspace.FullName | Out-Null
        Connect-WsyncRemote whatif $mirror.FullName -Name disk | Out-Null
        $other = New-Item -ItemType Directory (Join-Path $root 'whatif-other')
        $fresh = New-Item -ItemType Directory (Join-Path $root 'whatif-fresh')
    }

    It '<Command> -WhatIf leaves the workspaces, remotes and daemon as they were' -ForEach @(
        @{ Command = 'Add-WsyncWorkspace'; Call = { Add-WsyncWorkspace $fresh.FullName -WhatIf } }
        @{ Command = 'Remove-WsyncWorkspace'; Call = { Remove-WsyncWorkspace whatif -WhatIf } }
        @{ Command = 'Connect-WsyncRemote'; Call = { Connect-WsyncRemote whatif $other.FullName -WhatIf } }
        @{ Command = 'Disconnect-WsyncRemote'; Call = { Disconnect-WsyncRemote whatif disk -WhatIf } }
        @{ Command = 'Sync-WsyncWorkspace'; Call = { Sync-WsyncWorkspace whatif -WhatIf } }
        @{ Command = 'Suspend-WsyncWorkspace'; Call = { Suspend-WsyncWorkspace whatif -WhatIf } }
        @{ Command = 'Resume-WsyncWorkspace'; Call = { Resume-WsyncWorkspace whatif -WhatIf } }
        @{ Command = 'Stop-WsyncDaemon'; Call = { Stop-WsyncDaemon -WhatIf } }
    ) {
        Wait-WsyncWorkspace whatif -TimeoutSec 30
        $daemon = (Get-WsyncDaemon).ProcessId
        $state = { Get-WsyncWorkspace | ForEach-Object { "$($_.Name) $($_.State) $($_.Remotes)" } }
        $before = & $state

        & $Call

        & $state | Should -Be $before
        Get-Tree $other | Should -BeNullOrEmpty
        (Get-WsyncDaemon).ProcessId | Should -Be $daemon
    }

    It 'Start-WsyncDaemon -WhatIf starts no daemon' {
        $pids = @(Get-WsyncTestProcessIds)
        Stop-WsyncDaemon
        foreach ($id in $pids) { Wait-Until { -not (Test-ProcessAlive $id) } -Because "process $id to exit" }

        Start-WsyncDaemon -WhatIf

        (Get-WsyncDaemon).Running | Should -BeFalse
    }
}
