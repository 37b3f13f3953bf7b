# Tab completion of workspace names, remote names and destinations already used, as PowerShell's own
# TabExpansion2 (what PSReadLine calls on Tab) returns it, from a real daemon; and nothing, with no daemon
# started, when none runs.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest

    function Get-Completion([string] $Line) {
        <# What Tab offers with the cursor at the end of the line. #>
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches)
    }

    function Get-WsyncDaemonProcessId([string] $WsyncHome) {
        <# Every wsyncd serving this home, found in /proc by its command line, whoever started it. #>
        foreach ($entry in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -Match '^\d+$') {
            try {
                $arguments = [System.IO.File]::ReadAllText("/proc/$($entry.Name)/cmdline").Split([char]0)
            }
            catch {
                continue
            }
            if ([System.IO.Path]::GetFileName($arguments[0]) -eq 'wsyncd' -and $arguments -contains $WsyncHome) {
                [int]$entry.Name
            }
        }
    }

    foreach ($name in 'web', 'web api', "web's", 'tools') {
        $directory = New-Item -ItemType Directory -Force (Join-Path $root "workspaces/$name")
        Add-WsyncWorkspace $directory.FullName | Out-Null
    }
    $mirrors = Join-Path $root 'mirrors'
    foreach ($name in 'mirror', 'backup', 'tools copy') {
        New-Item -ItemType Directory -Force (Join-Path $mirrors $name) | Out-Null
    }
    Connect-WsyncRemote web (Join-Path $mirrors 'mirror') | Out-Null
    Connect-WsyncRemote web (Join-Path $mirrors 'backup') | Out-Null
    Connect-WsyncRemote tools (Join-Path $mirrors 'tools copy') -Name 'tools copy' | Out-Null
}

AfterAll {
    Clear-WsyncTest $root
}

Describe 'Tab completion' {
    It 'completes workspace names, quoted when they hold spaces or quotes, and each reads back as that workspace' {
        $offered = Get-Completion 'Remove-WsyncWorkspace we'

        $offered.ListItemText | Should -Be @('web', 'web api', "web's")
        $offered.CompletionText | Should -Be @('web', "'web api'", "'web''s'")
        foreach ($completion in $offered) {
            $workspace = & ([scriptblock]::Create("Get-WsyncWorkspace -Name $($completion.CompletionText)"))
            $workspace.Name | Should -Be $completion.ListItemText
        }
    }

    It 'completes workspace names for every parameter that names one' {
        (Get-Completion 'Get-WsyncWorkspace ').ListItemText | Should -Be @('tools', 'web', 'web api', "web's")
        (Get-Completion 'Sync-WsyncWorkspace -Name T').CompletionText | Should -Be 'tools'
        (Get-Completion 'Get-WsyncRemote -Workspace to').CompletionText | Should -Be 'tools'
        (Get-Completion 'Disconnect-WsyncRemote to').CompletionText | Should -Be 'tools'
        (Get-Completion "Connect-WsyncRemote 'web a").CompletionText | Should -Be "'web api'"
    }

    It 'completes remote names, of the workspace already typed when there is one' {
        (Get-Completion 'Disconnect-WsyncRemote web ').CompletionText | Should -Be @('backup', 'mirror')
        (Get-Completion 'Disconnect-WsyncRemote -Workspace tools -Name ').CompletionText | Should -Be "'tools copy'"
        (Get-Completion "Get-WsyncRemote 'web*' m").CompletionText | Should -Be 'mirror'
        (Get-Completion 'Get-WsyncRemote -Name ').CompletionText | Should -Be @('backup', 'mirror', "'tools copy'")
        Get-Completion "Disconnect-WsyncRemote 'web api' " | Should -BeNullOrEmpty
    }

    It 'completes destinations already used, leaving out those the workspace already mirrors to' {
        $prefix = "$mirrors/"

        (Get-Completion "Connect-WsyncRemote tools $prefix").CompletionText |
            Should -Be @((Join-Path $mirrors 'backup'), (Join-Path $mirrors 'mirror'))
        $offered = Get-Completion "Connect-WsyncRemote -Workspace web -Destination $prefix"
        $offered.CompletionText | Should -Be "'$(Join-Path $mirrors 'tools copy')'"
        $offered.ToolTip | Should -Be 'Used by tools/tools copy'
    }

    It 'offers nothing and starts no daemon when none runs' {
        # Kill the daemon outright, as a crash would: the module's cached connection is then dead, and a
        # completer that reconnected with auto-start would bring a daemon back.
        $processes = @(Get-WsyncTestProcessIds)
        $daemon = (Get-WsyncDaemon).ProcessId
        Stop-Process -Id $daemon -Force
        foreach ($id in $processes) {
            Wait-Until { -not (Test-ProcessAlive $id) } -Because "process $id (the daemon or a monitor) to exit"
        }

        # An empty location: were the completer to fail or return null, PowerShell would offer file names.
        Push-Location (New-Item -ItemType Directory -Force (Join-Path $root 'empty'))
        try {
            foreach ($line in 'Remove-WsyncWorkspace we', 'Get-WsyncWorkspace ', 'Disconnect-WsyncRemote web ',
                'Get-WsyncRemote -Name ', "Connect-WsyncRemote web $mirrors/", 'Connect-WsyncRemote web /') {
                Get-Completion $line | Should -BeNullOrEmpty -Because "'$line' has nothing to complete without a daemon"
            }
        }
        finally {
            Pop-Location
        }
        Get-WsyncDaemonProcessId $env:WSYNC_HOME | Should -BeNullOrEmpty
        (Get-WsyncDaemon).Running | Should -BeFalse

        # A home that was never used is not even created.
        $fresh = Join-Path $root 'never-used-home'
        $previous = $env:WSYNC_HOME
        $env:WSYNC_HOME = $fresh
        try {
            Get-Completion 'Remove-WsyncWorkspace we' | Should -BeNullOrEmpty
            Test-Path $fresh | Should -BeFalse
            Get-WsyncDaemonProcessId $fresh | Should -BeNullOrEmpty
        }
        finally {
            $env:WSYNC_HOME = $previous
        }
    }
}
