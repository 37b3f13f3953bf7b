BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
}

Describe 'The daemon cmdlets' {
    BeforeEach {
        $root = Initialize-WsyncTest
    }

    AfterEach {
        Clear-WsyncTest $root
    }

    It 'Get-WsyncDaemon reports that none runs, with the home and its registration, and does not start one' {
        $info = Get-WsyncDaemon -ErrorAction Stop
        $info | Should -BeOfType 'Wsync.DaemonInfo'
        $info.Running | Should -BeFalse
        $info.ProcessId | Should -Be 0
        $info.Home | Should -Be $env:WSYNC_HOME
        $info.SocketPath | Should -Be (Join-Path $env:WSYNC_HOME 'wsyncd.sock')
        $info.Registered | Should -BeFalse
        $info.UnitName | Should -BeLike 'wsyncd-*.service'
        Test-Path (Join-Path $env:WSYNC_HOME 'wsyncd.sock') | Should -BeFalse
        ($info | Format-List | Out-String) | Should -Match 'Running\s+: False'
    }

    It 'Start-WsyncDaemon starts one daemon, detached, and a second start finds it' {
        $info = Start-WsyncDaemon -PassThru
        $info | Should -BeOfType 'Wsync.DaemonInfo'
        Test-ProcessAlive $info.ProcessId | Should -BeTrue
        $info.SocketPath | Should -Be (Join-Path $env:WSYNC_HOME 'wsyncd.sock')
        $info.Version | Should -Be (Import-PowerShellDataFile (Get-WsyncModulePath)).ModuleVersion

        (Start-WsyncDaemon -PassThru).ProcessId | Should -Be $info.ProcessId
        (Get-WsyncDaemon).ProcessId | Should -Be $info.ProcessId

        # Detached: its own session, so the terminal's Ctrl+C and hang-up never reach it.
        $stat = [System.IO.File]::ReadAllText("/proc/$($info.ProcessId)/stat")
        $session = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[3]
        $session | Should -Be $info.ProcessId
    }

    It 'creates the configuration with defaults on first use, private to the user' {
        Start-WsyncDaemon
        $config = Join-Path $env:WSYNC_HOME 'wsync.config'
        (Get-Item $config).UnixMode | Should -Be '-rw-------'
        (Get-Item $env:WSYNC_HOME).UnixMode | Should -Be 'drwx------'
        (Get-Item (Join-Path $env:WSYNC_HOME 'wsync-ws-config.json')).UnixMode | Should -Be '-rw-------'
        (Get-Content -Raw (Join-Path $env:WSYNC_HOME 'wsync-ws-config.json')).Trim() | Should -Be '[]'
        $text = Get-Content -Raw $config
        foreach ($key in 'WorkspaceConfigFilePath', 'MonitorExecutablePath', 'DaemonCommandSocketPath', 'LogDirectory') {
            $text | Should -Match "(?m)^$key="
        }
    }

    It 'every other cmdlet starts the daemon when none runs, and it outlives the pwsh that started it' {
        $module = Get-WsyncModulePath
        Invoke-Pwsh -NoProfile -Command "Import-Module '$module'; Get-WsyncWorkspace; exit 0"
        $LASTEXITCODE | Should -Be 0

        $info = Get-WsyncDaemon
        Test-ProcessAlive $info.ProcessId | Should -BeTrue
        Get-WsyncWorkspace | Should -BeNullOrEmpty
    }

    It 'Stop-WsyncDaemon ends the daemon and its monitors, and is quiet when none runs' {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'web')
        Add-WsyncWorkspace $workspace.FullName | Out-Null
        Wait-Until { (Get-WsyncWorkspace web).MonitorProcessId } -Because 'the monitor'
        $daemon = (Get-WsyncDaemon).ProcessId
        $monitor = (Get-WsyncWorkspace web).MonitorProcessId

        Stop-WsyncDaemon

        Test-ProcessAlive $daemon | Should -BeFalse
        Test-ProcessAlive $monitor | Should -BeFalse
        Test-Path (Join-Path $env:WSYNC_HOME 'wsyncd.sock') | Should -BeFalse
        { Stop-WsyncDaemon -ErrorAction Stop } | Should -Not -Throw
    }

    It 'Stop-WsyncDaemon -WhatIf leaves the daemon running' {
        $daemon = (Start-WsyncDaemon -PassThru).ProcessId
        Stop-WsyncDaemon -WhatIf
        Test-ProcessAlive $daemon | Should -BeTrue
    }

    It 'a daemon that cannot start says why' {
        New-Item -ItemType Directory $env:WSYNC_HOME | Out-Null
        Set-Content (Join-Path $env:WSYNC_HOME 'wsync-ws-config.json') '[ not json'
        $record = { Get-WsyncWorkspace -ErrorAction Stop } | Should -Throw -ErrorId 'DaemonStartFailed,Wsync.Commands.GetWsyncWorkspace' -PassThru
        $record.Exception.Message | Should -Match 'wsync-ws-config.json'
        Get-Content -Raw (Join-Path $env:WSYNC_HOME 'wsync-ws-config.json') | Should -Be "[ not json`n"
    }
}
