# Get-WsyncLog: the daemon's and the monitors' CLEF files read back as objects, without the daemon.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
    foreach ($name in 'web', 'api') {
        $directory = New-Item -ItemType Directory (Join-Path $root $name)
        Add-WsyncWorkspace $directory.FullName | Out-Null
    }
    Wait-Until { @(Get-WsyncWorkspace | Where-Object State -EQ Watching).Count -eq 2 } -Because 'both monitors to start'
    $logDirectory = (Get-WsyncDaemon).LogDirectory
}

AfterAll {
    Clear-WsyncTest $root
}

Describe 'Get-WsyncLog' {
    It 'returns entries about adding the workspace and starting its monitor, oldest first' {
        Wait-Until { Get-WsyncLog -Workspace web | Where-Object Process -EQ 'wsync-monitor' } -Because 'the monitor to log'
        $entries = @(Get-WsyncLog)

        $entries | Should -Not -BeNullOrEmpty
        $entries | ForEach-Object { $_ | Should -BeOfType 'Wsync.LogEntry' }
        $added = $entries | Where-Object Message -EQ "Added workspace web at $(Join-Path $root 'web')"
        $added | Should -HaveCount 1
        $added.Process | Should -Be 'wsyncd'
        $added.Workspace | Should -Be 'web'
        $added.Level | Should -Be 'Information'
        $added.Pid | Should -Be (Get-WsyncDaemon).ProcessId
        $added.Properties['Path'] | Should -Be (Join-Path $root 'web')
        $entries | Where-Object { $_.Process -eq 'wsync-monitor' -and $_.Workspace -eq 'web' } | Should -Not -BeNullOrEmpty
        $times = $entries.Time
        $times | Should -Be ($times | Sort-Object) -Because 'entries are merged across files by time'
    }

    It 'filters by workspace, with wildcards and from workspace objects' {
        Wait-Until { Get-WsyncLog -Workspace api | Where-Object Process -EQ 'wsync-monitor' } -Because 'the monitor to log'
        (Get-WsyncLog -Workspace web).Workspace | Sort-Object -Unique | Should -Be 'web'
        (Get-WsyncLog -Workspace 'a*').Workspace | Sort-Object -Unique | Should -Be 'api'
        (Get-WsyncWorkspace | Get-WsyncLog).Workspace | Sort-Object -Unique | Should -Be @('api', 'web')
        Get-WsyncLog -Workspace nothing | Should -BeNullOrEmpty
    }

    It 'skips a malformed line with a warning and reads the rest' {
        $file = Join-Path $logDirectory 'monitor-broken-20000101.clef'
        $good = '{"@t":"2000-01-01T00:00:00.0000000Z","@mt":"Watching {Count} directories of {Root}","@l":"Warning","Count":3,"Root":"/x","Process":"wsync-monitor","Pid":42,"Workspace":"broken"}'
        Set-Content $file "this is not json`n$good"
        try {
            $entries = Get-WsyncLog -Workspace broken -WarningVariable warnings -WarningAction SilentlyContinue
        }
        finally {
            Remove-Item $file
        }

        $entries | Should -HaveCount 1
        $entries.Message | Should -Be 'Watching 3 directories of /x'
        $entries.Level | Should -Be 'Warning'
        $entries.Pid | Should -Be 42
        $warnings | Should -HaveCount 1
        "$warnings" | Should -Match 'line 1 of .*monitor-broken-20000101\.clef'
    }

    It 'reads while the daemon writes and works without a daemon' {
        $pids = @(Get-WsyncTestProcessIds)
        Stop-WsyncDaemon
        foreach ($id in $pids) { Wait-Until { -not (Test-ProcessAlive $id) } -Because "process $id to exit" }

        (Get-WsyncLog -Tail 5).Message | Should -Contain 'Stopped'
        (Get-WsyncDaemon).Running | Should -BeFalse -Because 'reading the logs starts no daemon'
    }

    It 'gives exactly the last 3 entries with -Tail 3, and filters by -Level and -Since' {
        # The daemon is stopped (previous test): the files no longer change between the reads.
        $all = @(Get-WsyncLog)
        $tail = @(Get-WsyncLog -Tail 3)
        $tail | Should -HaveCount 3
        ($tail | ForEach-Object { "$($_.Time.UtcTicks) $($_.Message)" }) |
            Should -Be ($all | Select-Object -Last 3 | ForEach-Object { "$($_.Time.UtcTicks) $($_.Message)" })

        Get-WsyncLog -Level Error | Should -BeNullOrEmpty
        Get-WsyncLog -Since (Get-Date).AddDays(1) | Should -BeNullOrEmpty
        @(Get-WsyncLog -Since (Get-Date).AddHours(-1)).Count | Should -Be $all.Count
    }

    It 'refuses -Tail <Tail> with a validation error' -ForEach @(@{ Tail = 0 }, @{ Tail = -1 }) {
        $record = { Get-WsyncLog -Tail $Tail -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Wsync.Commands.GetWsyncLog' -PassThru
        $record.CategoryInfo.Category | Should -Be 'InvalidData'
        $record.Exception.Message | Should -Match 'Tail'
    }
}
