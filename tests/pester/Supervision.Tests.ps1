BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
}

Describe 'Monitor supervision' {
    BeforeEach {
        $root = Initialize-WsyncTest
        # A small crash threshold (5 by default) keeps the test short.
        New-Item -ItemType Directory $env:WSYNC_HOME | Out-Null
        Set-Content (Join-Path $env:WSYNC_HOME 'wsync.config') "MonitorCrashThreshold=4`nMonitorCrashWindowSeconds=600"
    }

    AfterEach {
        Clear-WsyncTest $root
    }

    It 'restarts a killed monitor until the crash threshold, then shows Failed with the reason until Resume-WsyncWorkspace' {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'web')
        $mirror = New-Item -ItemType Directory (Join-Path $root 'mirror')
        Set-Content (Join-Path $workspace 'start') 'start'
        Add-WsyncWorkspace $workspace.FullName | Out-Null
        Connect-WsyncRemote web $mirror.FullName | Out-Null

        # Killed three times while files change: restarted each time, and the remote converges.
        for ($round = 1; $round -le 3; $round++) {
            Wait-Until { (Get-WsyncWorkspace web).State -eq 'Watching' } -Because "the monitor to watch (round $round)"
            $monitor = (Get-WsyncWorkspace web).MonitorProcessId
            Set-Content (Join-Path $workspace "round-$round") "changed just before kill $round"
            Stop-Process -Id $monitor -Force
            Set-Content (Join-Path $workspace "after-$round") "changed while the monitor was down"
            Wait-Until { -not (Test-ProcessAlive $monitor) -and (Get-WsyncWorkspace web).MonitorProcessId -notin $null, $monitor } -Because "a new monitor (round $round)"
            Wait-WsyncWorkspace web
            Assert-Mirrored $workspace.FullName $mirror.FullName
        }

        # The fourth kill within the window reaches the threshold: left stopped, Failed, with the reason.
        Wait-Until { (Get-WsyncWorkspace web).State -eq 'Watching' } -Because 'the monitor to watch before the last kill'
        Stop-Process -Id (Get-WsyncWorkspace web).MonitorProcessId -Force
        Wait-Until { (Get-WsyncWorkspace web).State -eq 'Failed' } -Because 'the crash threshold'
        $failed = Get-WsyncWorkspace web
        $failed.StateReason | Should -Match 'stopped 4 times'
        $failed.MonitorProcessId | Should -BeNullOrEmpty
        (Get-WsyncRemote -Workspace web).State | Should -Be 'Stopped'
        Set-Content (Join-Path $workspace 'while-failed') 'changed while Failed'

        # Resume: the monitor runs again, reconciles what changed while Failed, and mirrors new changes.
        Resume-WsyncWorkspace web
        Wait-Until { (Get-WsyncWorkspace web).State -eq 'Watching' } -Because 'the resumed monitor'
        Wait-WsyncWorkspace web
        Test-Path (Join-Path $mirror 'while-failed') | Should -BeTrue
        Set-Content (Join-Path $workspace 'after-resume') 'changed after Resume'
        Wait-WsyncWorkspace web
        Assert-Mirrored $workspace.FullName $mirror.FullName
    }
}
