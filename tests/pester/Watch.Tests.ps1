# Watch-WsyncWorkspace against a real daemon, monitor, rsync and sshd: events arrive as objects while the
# cmdlet runs in another runspace (as in a terminal), and every way of ending it leaves no watcher behind.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
    $sshd = Start-TestSshServer (Join-Path $root 'sshd')
    $sshd.Own($root, $false)
    $modulePath = Get-WsyncModulePath

    $workspace = New-Item -ItemType Directory (Join-Path $root 'watched')
    $far = Join-Path $root 'far'
    # The local remote is a small file system of its own, so that it can be made read-only under wsync (as root;
    # otherwise a directory without write permission does, since then mode bits count).
    $disk = New-Item -ItemType Directory (Join-Path $root 'disk')
    $isRoot = [Wsync.TestSupport.LoginAccount]::IsRoot
    if ($isRoot) {
        & mount -t tmpfs -o size=4m wsync-test-watch $disk.FullName
    }
    Add-WsyncWorkspace $workspace.FullName | Out-Null
    Connect-WsyncRemote watched $disk.FullName -Name disk | Out-Null
    Connect-WsyncRemote watched $sshd.Destination($far) -Name far -Port $sshd.Port -IdentityFile $sshd.IdentityFile -SshOption $sshd.SshOptions | Out-Null

    function Start-Watch([string] $Script) {
        <# Runs $Script in a runspace of its own; its output collection fills as objects are written (Seen keeps what was read). #>
        $shell = [powershell]::Create()
        $shell.AddScript("Import-Module '$modulePath'; $Script") | Out-Null
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $inputs = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $inputs.Complete()
        [pscustomobject]@{ Shell = $shell; Output = $output; Seen = [System.Collections.Generic.List[object]]::new(); Handle = $shell.BeginInvoke($inputs, $output) }
    }

    function Wait-Watchers([int] $Count) {
        Wait-Until { (Get-WsyncDaemon).WatcherCount -eq $Count } -Because "the daemon to serve $Count watchers"
    }

    function Find-Event($Watch, [scriptblock] $Where, [string] $Because) {
        # ReadAll, never enumeration: enumerating an open PSDataCollection blocks until it is closed.
        Wait-Until {
            foreach ($item in $Watch.Output.ReadAll()) { $Watch.Seen.Add($item) }
            @($Watch.Seen | Where-Object $Where).Count -gt 0
        } -Because $Because
        @($Watch.Seen | Where-Object $Where)[0]
    }
}

AfterAll {
    Clear-WsyncTest $null
    $sshd.Dispose()
    if ($isRoot) {
        & umount --lazy $disk.FullName
    }
    Remove-Item -Recurse -Force $root -ErrorAction Ignore
}

Describe 'Watch-WsyncWorkspace' {
    It 'streams batches sent to each remote, then a failing remote''s error, until Stop (Ctrl+C) ends it at once' {
        Wait-WsyncWorkspace watched
        $watch = Start-Watch 'Watch-WsyncWorkspace watched'
        try {
            Wait-Watchers 1
            Set-Content (Join-Path $workspace 'hello.txt') 'hello, remotes'

            foreach ($remote in 'disk', 'far') {
                $sent = Find-Event $watch { $_.Kind -eq 'BatchSent' -and $_.Remote -eq $remote } "a BatchSent to $remote"
                $sent | Should -BeOfType 'Wsync.SyncEvent'
                $sent.Workspace | Should -Be 'watched'
                $sent.Files | Should -BeGreaterOrEqual 1
                $sent.Bytes | Should -BeGreaterThan 0
                $sent.Paths | Should -Be 1
                $sent.Duration | Should -BeGreaterThan ([timespan]::Zero)
            }

            # The disk turns read-only under wsync: the next batch fails, and the watcher is told why.
            if ($isRoot) {
                & mount -o remount,ro $disk.FullName
            }
            else {
                & chmod 0555 $disk.FullName
            }
            Set-Content (Join-Path $workspace 'refused.txt') 'cannot land on disk'
            $failure = Find-Event $watch { $_.Kind -eq 'Error' -and $_.Remote -eq 'disk' } 'an Error for disk'
            $failure.Message | Should -Match 'rsync exit code'
            $changed = Find-Event $watch { $_.Kind -eq 'RemoteStateChanged' -and $_.Remote -eq 'disk' -and $_.NewState -eq 'Retrying' } 'disk to be Retrying'
            $changed.OldState | Should -Not -BeNullOrEmpty
            $changed.NewState | Should -BeOfType [Wsync.SyncState] -Because 'states travel as an enum, which still compares with a string'
            @($changed) | Where-Object NewState -EQ Retrying | Should -Not -BeNullOrEmpty
            $changed.Message | Should -Be $failure.Message
            Find-Event $watch { $_.Kind -eq 'BatchSent' -and $_.Remote -eq 'far' -and $_.Paths -ge 1 -and $_.Time -gt $sent.Time } 'far to go on' | Out-Null

            # The monitor dies: the daemon says so, and that it started it again. Its rsync and ssh children
            # outlive it, as after a real crash; they are stopped by pid below.
            $monitor = (Get-WsyncWorkspace watched).MonitorProcessId
            $orphans = @(Get-ChildProcessId $monitor)
            $orphans += @($orphans | ForEach-Object { Get-ChildProcessId $_ })
            Stop-Process -Id $monitor -Force
            (Find-Event $watch { $_.Kind -eq 'MonitorExited' } 'MonitorExited').Message | Should -Match 'restarting'
            Find-Event $watch { $_.Kind -eq 'MonitorRestarted' } 'MonitorRestarted' | Out-Null

            # Stop() is what Ctrl+C does: the cmdlet ends at once, and the daemon drops its watcher.
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $watch.Shell.Stop()
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 2
            $watch.Handle.IsCompleted | Should -BeTrue
            $watch.Shell.InvocationStateInfo.State | Should -Be 'Stopped'
            Wait-Watchers 0
            (Get-WsyncWorkspace watched).Name | Should -Be 'watched'
        }
        finally {
            $watch.Shell.Dispose()
            foreach ($orphan in $orphans) {
                Stop-Process -Id $orphan -Force -ErrorAction Ignore
            }
            if ($isRoot) {
                & mount -o remount,rw $disk.FullName
            }
            else {
                & chmod 0755 $disk.FullName
            }
        }
    }

    It 'ends cleanly under Select-Object -First, and quietly at -TimeoutSec' {
        $watch = Start-Watch 'Watch-WsyncWorkspace | Select-Object -First 2'
        try {
            # Changes until two events came: the watch may start before or after any one of them.
            Wait-Until {
                Set-Content (Join-Path $workspace 'first.txt') ([guid]::NewGuid())
                $watch.Handle.IsCompleted
            } -Because 'Select-Object -First 2 to end the watch'
            $watch.Shell.HadErrors | Should -BeFalse
            $watch.Output.Count | Should -Be 2
            Wait-Watchers 0
        }
        finally {
            $watch.Shell.Dispose()
        }

        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        Watch-WsyncWorkspace 'watch*' -TimeoutSec 1 -ErrorVariable failures | Out-Null
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
        $failures | Should -BeNullOrEmpty
        Wait-Watchers 0

        Watch-WsyncWorkspace nope -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'WorkspaceNotFound*'
    }

    It 'shows events as a table of time, workspace, remote, kind and detail' {
        $event = [Wsync.SyncEvent]@{ Time = [datetimeoffset]::Now; Kind = 'BatchSent'; Workspace = 'watched'; Remote = 'far'; Files = 3; Bytes = 2048; Paths = 3; Duration = [timespan]::FromMilliseconds(42) }
        $table = $event | Format-Table | Out-String -Width 200
        $table | Should -Match 'Time\s+Workspace\s+Remote\s+Kind\s+Detail'
        $table | Should -Match 'watched\s+far\s+BatchSent\s+3 paths: 3 files, 2.0 KiB in 42 ms'
        (Get-Command Watch-WsyncWorkspace).OutputType.Type | Should -Be ([Wsync.SyncEvent])
    }
}
