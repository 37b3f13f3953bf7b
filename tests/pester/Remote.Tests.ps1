BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
}

AfterAll {
    Clear-WsyncTest $root
}

Describe 'Connect-WsyncRemote, Get-WsyncRemote and Disconnect-WsyncRemote' {
    BeforeEach {
        $workspacePath = New-Item -ItemType Directory -Force (Join-Path $root 'web')
        # Fresh each time: a test leaves files in it, and a mirror over foreign files would ask first.
        Remove-Item -Recurse -Force (Join-Path $root 'mirror') -ErrorAction Ignore
        $mirror = New-Item -ItemType Directory -Force (Join-Path $root 'mirror')
        $backup = New-Item -ItemType Directory -Force (Join-Path $root 'backup')
    }

    AfterEach {
        Get-WsyncWorkspace | Remove-WsyncWorkspace -Confirm:$false
    }

    It 'attaches a local directory to a workspace piped from Add-WsyncWorkspace' {
        $remote = Add-WsyncWorkspace $workspacePath.FullName | Connect-WsyncRemote -Destination $mirror.FullName

        $remote | Should -BeOfType 'Wsync.Remote'
        $remote.Name | Should -Be 'mirror'
        $remote.Workspace | Should -Be 'web'
        $remote.Kind | Should -Be 'Local'
        $remote.Destination | Should -Be $mirror.FullName
        (Get-WsyncWorkspace web).Remotes.Name | Should -Be 'mirror'
        $stored = Get-Content -Raw (Join-Path $env:WSYNC_HOME 'wsync-ws-config.json') | ConvertFrom-Json
        $stored.Remotes.Destination | Should -Be $mirror.FullName
    }

    It 'resolves a relative local destination against the current location and takes -Name' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        Push-Location $root
        try {
            $remote = Connect-WsyncRemote web ./backup -Name disk
        }
        finally {
            Pop-Location
        }
        $remote.Name | Should -Be 'disk'
        $remote.Path | Should -Be $backup.FullName
    }

    It 'lists remotes of one workspace or all, with name wildcards, and takes workspaces from the pipeline' {
        $other = New-Item -ItemType Directory -Force (Join-Path $root 'api')
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        Add-WsyncWorkspace $other.FullName | Out-Null
        Connect-WsyncRemote web $mirror.FullName | Out-Null
        Connect-WsyncRemote web $backup.FullName | Out-Null
        Connect-WsyncRemote api (New-Item -ItemType Directory -Force (Join-Path $root 'api-mirror')).FullName | Out-Null

        (Get-WsyncRemote).Name | Sort-Object | Should -Be @('api-mirror', 'backup', 'mirror')
        (Get-WsyncRemote web).Name | Sort-Object | Should -Be @('backup', 'mirror')
        (Get-WsyncRemote -Workspace web -Name 'm*').Name | Should -Be 'mirror'
        (Get-WsyncWorkspace api | Get-WsyncRemote).Name | Should -Be 'api-mirror'
        { Get-WsyncRemote web nope -ErrorAction Stop } | Should -Throw -ErrorId 'RemoteNotFound,Wsync.Commands.GetWsyncRemote'
    }

    It 'detaches what Get-WsyncRemote pipes to it, leaving the mirror files, and honours -WhatIf' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        Connect-WsyncRemote web $mirror.FullName | Out-Null
        Set-Content (Join-Path $mirror 'left.txt') 'stays'

        Get-WsyncRemote web | Disconnect-WsyncRemote -WhatIf
        (Get-WsyncRemote web).Name | Should -Be 'mirror'

        $detached = Get-WsyncRemote web | Disconnect-WsyncRemote -PassThru
        $detached.Name | Should -Be 'mirror'
        Get-WsyncRemote web | Should -BeNullOrEmpty
        Get-Content (Join-Path $mirror 'left.txt') | Should -Be 'stays'
    }

    It 'reports <ErrorId> for <Case> and changes nothing' -ForEach @(
        @{ Case = 'an unknown workspace'; ErrorId = 'WorkspaceNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'a missing directory'; ErrorId = 'DestinationNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'a destination inside the workspace'; ErrorId = 'DestinationInsideWorkspace'; Category = 'InvalidArgument' }
        @{ Case = 'the same destination twice'; ErrorId = 'RemoteDestinationInUse'; Category = 'ResourceExists' }
        @{ Case = 'a malformed destination'; ErrorId = 'DestinationInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'a host with no path'; ErrorId = 'DestinationInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'a path with no host'; ErrorId = 'DestinationInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'a URL with nothing in it'; ErrorId = 'DestinationInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'a host that is an ssh option'; ErrorId = 'DestinationInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'a user that is an ssh option'; ErrorId = 'DestinationInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'port 0 in a URL'; ErrorId = 'PortInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'port 70000 in a URL'; ErrorId = 'PortInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'a missing identity file'; ErrorId = 'IdentityFileNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'an ssh option that is not Key=Value'; ErrorId = 'SshOptionInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'an unsafe ssh option'; ErrorId = 'SshOptionUnsafe'; Category = 'SecurityError' }
    ) {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        Connect-WsyncRemote web $mirror.FullName | Out-Null
        $file = Join-Path $env:WSYNC_HOME 'wsync-ws-config.json'
        $before = Get-Content -Raw $file
        $command = switch ($Case) {
            'an unknown workspace' { { Connect-WsyncRemote nope $backup.FullName -ErrorAction Stop } }
            'a missing directory' { { Connect-WsyncRemote web (Join-Path $root 'absent') -ErrorAction Stop } }
            'a destination inside the workspace' { { Connect-WsyncRemote web (New-Item -ItemType Directory -Force (Join-Path $workspacePath 'm')).FullName -ErrorAction Stop } }
            'the same destination twice' { { Connect-WsyncRemote web $mirror.FullName -Name again -ErrorAction Stop } }
            'a malformed destination' { { Connect-WsyncRemote web 'user@@host:/p' -ErrorAction Stop } }
            'a host with no path' { { Connect-WsyncRemote web 'host:' -ErrorAction Stop } }
            'a path with no host' { { Connect-WsyncRemote web ':/p' -ErrorAction Stop } }
            'a URL with nothing in it' { { Connect-WsyncRemote web 'ssh://' -ErrorAction Stop } }
            'a host that is an ssh option' { { Connect-WsyncRemote web '-oProxyCommand=id:/p' -ErrorAction Stop } }
            'a user that is an ssh option' { { Connect-WsyncRemote web '-oProxyCommand=x@host:/p' -ErrorAction Stop } }
            'port 0 in a URL' { { Connect-WsyncRemote web 'ssh://me@host:0/p' -ErrorAction Stop } }
            'port 70000 in a URL' { { Connect-WsyncRemote web 'ssh://me@host:70000/p' -ErrorAction Stop } }
            'a missing identity file' { { Connect-WsyncRemote web 'me@host:/p' -IdentityFile (Join-Path $root 'no-such-key') -ErrorAction Stop } }
            'an ssh option that is not Key=Value' { { Connect-WsyncRemote web 'me@host:/p' -SshOption 'Compression' -ErrorAction Stop } }
            'an unsafe ssh option' { { Connect-WsyncRemote web 'me@host:/p' -SshOption 'ProxyCommand=touch /tmp/wsync-pwned' -ErrorAction Stop } }
        }

        $record = $command | Should -Throw -ErrorId "$ErrorId,Wsync.Commands.ConnectWsyncRemote" -PassThru

        $record.CategoryInfo.Category | Should -Be $Category
        $record.TargetObject | Should -Not -BeNullOrEmpty
        Get-Content -Raw $file | Should -Be $before
        Test-Path /tmp/wsync-pwned | Should -BeFalse
    }

    It 'takes an unsafe ssh option only with -AllowUnsafeSshOption, and warns' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        $file = Join-Path $env:WSYNC_HOME 'wsync-ws-config.json'
        $before = Get-Content -Raw $file
        # The ProxyCommand runs (that is what the switch allows) and ssh then fails: the marker proves the first,
        # the error the second; nothing is stored.
        $marker = Join-Path $root ('proxy-ran-' + [guid]::NewGuid().ToString('n'))
        $warnings = @(Connect-WsyncRemote web 'me@wsync.invalid:/p' -SshOption "ProxyCommand=touch $marker" -AllowUnsafeSshOption -ErrorAction SilentlyContinue -ErrorVariable failed 3>&1 |
                Where-Object { $_ -is [System.Management.Automation.WarningRecord] })

        $warnings | Should -HaveCount 1
        $warnings[0].Message | Should -BeLike '*-AllowUnsafeSshOption*'
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -Not -BeLike 'SshOptionUnsafe*'
        Test-Path $marker | Should -BeTrue
        Get-Content -Raw $file | Should -Be $before
    }

    It 'validates -Port' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        { Connect-WsyncRemote web 'me@host:/p' -Port 70000 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Wsync.Commands.ConnectWsyncRemote'
        { Connect-WsyncRemote web 'ssh://me@host:0/p' -ErrorAction Stop } | Should -Throw -ErrorId 'PortInvalid,Wsync.Commands.ConnectWsyncRemote'
    }

    It 'carries changes through the agent by default, through rsync with -Transport Rsync, and says which and why' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        Connect-WsyncRemote web $mirror.FullName | Out-Null
        $rsync = Connect-WsyncRemote web $backup.FullName -Transport Rsync

        $rsync.Transport | Should -Be ([Wsync.RemoteTransport]::Rsync)
        $rsync.TransportReason | Should -BeLike '*-Transport Rsync*'
        Wait-Until { (Get-WsyncRemote web mirror).Transport -eq 'Agent' } -Because 'the agent to carry the changes of "mirror"'
        (Get-WsyncRemote web mirror).TransportReason | Should -BeNullOrEmpty
        Set-Content -LiteralPath (Join-Path $workspacePath 'edited') -Value 'through both'
        Wait-WsyncWorkspace web | Out-Null
        Get-Content -LiteralPath (Join-Path $mirror 'edited') | Should -Be 'through both'
        Get-Content -LiteralPath (Join-Path $backup 'edited') | Should -Be 'through both'
        (Get-WsyncRemote web backup | Format-List | Out-String) | Should -BeLike '*Transport*: Rsync: Asked for with -Transport Rsync*'
    }

    It 'refuses a -Transport it does not know, naming the value, and changes nothing' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        $record = { Connect-WsyncRemote web $mirror.FullName -Transport Carrier -ErrorAction Stop } |
            Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,Wsync.Commands.ConnectWsyncRemote' -PassThru
        $record.Exception.Message | Should -BeLike '*Carrier*'
        @(Get-WsyncRemote web) | Should -HaveCount 0
    }

    It 'puts back a mirrored file edited in the remote (with -DriftAction Report only counts it), shows it on the object and streams it as a Drift event' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        Set-Content -LiteralPath (Join-Path $workspacePath 'notes.txt') -Value 'as the workspace has it'
        Connect-WsyncRemote web $mirror.FullName | Out-Null
        (Connect-WsyncRemote web $backup.FullName -DriftAction Report).DriftAction | Should -Be ([Wsync.DriftAction]::Report)
        Wait-Until { @(Get-WsyncRemote web | Where-Object Transport -eq Agent).Count -eq 2 } -Because 'the agent to watch both remotes'
        $watch = [powershell]::Create().AddScript("Import-Module '$env:WSYNC_MODULE_PATH'; Watch-WsyncWorkspace web -TimeoutSec 60 | Where-Object Kind -eq Drift | Select-Object -First 2")
        $handle = $watch.BeginInvoke()
        try {
            Wait-Until { (Get-WsyncDaemon).WatcherCount -eq 1 } -Because 'the watcher to be served'
            foreach ($remote in $mirror, $backup) {
                Set-Content -LiteralPath (Join-Path $remote 'notes.txt') -Value 'edited in the remote'
            }

            $events = $watch.EndInvoke($handle)
        }
        finally {
            $watch.Dispose()
        }

        $events | Should -HaveCount 2
        $events.Remote | Sort-Object | Should -Be 'backup', 'mirror'
        $events.Message | Should -BeLike "*'notes.txt'*"
        Wait-Until { (Get-Content -LiteralPath (Join-Path $mirror 'notes.txt')) -eq 'as the workspace has it' } -Because 'the edit to be undone'
        Get-Content -LiteralPath (Join-Path $backup 'notes.txt') | Should -Be 'edited in the remote'
        foreach ($remote in Get-WsyncRemote web) {
            $remote.LastDrift | Should -Be 'notes.txt'
        }

        (Get-WsyncRemote web mirror).DriftCount | Should -BeGreaterOrEqual 1
        (Get-WsyncRemote web backup).DriftCount | Should -Be 1 # reported once, however many steps the write took

        (Get-WsyncRemote web backup | Format-List | Out-String) | Should -BeLike '*Drift*: 1 (Report; last: notes.txt)*'
    }

    It 'refuses a -DriftAction it does not know, naming the value, and changes nothing' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        $record = { Connect-WsyncRemote web $mirror.FullName -DriftAction Ignore -ErrorAction Stop } |
            Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,Wsync.Commands.ConnectWsyncRemote' -PassThru
        $record.Exception.Message | Should -BeLike '*Ignore*'
        @(Get-WsyncRemote web) | Should -HaveCount 0
    }

    It 'reports an unknown remote on Disconnect-WsyncRemote' {
        Add-WsyncWorkspace $workspacePath.FullName | Out-Null
        $record = { Disconnect-WsyncRemote web nope -ErrorAction Stop } | Should -Throw -ErrorId 'RemoteNotFound,Wsync.Commands.DisconnectWsyncRemote' -PassThru
        $record.TargetObject | Should -Be 'nope'
    }
}
