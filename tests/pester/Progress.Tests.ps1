# Progress, -Verbose and Ctrl+C, as a user sees them: each cmdlet runs in its own PowerShell pipeline
# ([powershell]::Create(), the module imported), whose streams hold what a console would show, and whose
# Stop() is what Ctrl+C does (StopProcessing). The ssh remote sits behind a slow link (2 MB/s), so that
# sending the 8 MB file takes seconds, as over a real uplink: long enough to watch and to stop.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
    $sshd = Start-TestSshServer (Join-Path $root 'sshd')
    $sshd.Own($root, $false)
    $link = [Wsync.TestSupport.SlowLink]::new($sshd.Port, 2MB)
    $sshd.TrustPort($link.Port)
    $sshParameters = @{ Port = $link.Port; IdentityFile = $sshd.IdentityFile; SshOption = $sshd.SshOptions }

    $workspace = New-Item -ItemType Directory (Join-Path $root 'project')
    $big = Join-Path $workspace 'big.bin'
    [System.IO.File]::WriteAllBytes($big, [System.Security.Cryptography.RandomNumberGenerator]::GetBytes(8MB))
    foreach ($i in 1..20) {
        # Sent before big.bin (rsync goes by name): the file counts are known while big.bin goes out.
        Set-Content (Join-Path $workspace "a-small-$i.txt") "file $i"
    }
    Add-WsyncWorkspace $workspace.FullName -Name project | Out-Null
    $mirror = Join-Path $root 'mirror'
    $disk = New-Item -ItemType Directory (Join-Path $root 'disk')

    function Start-InPipeline([string] $Command, [hashtable] $Parameters) {
        <# Starts a wsync cmdlet with -Verbose in a pipeline of its own; returns the pipeline and its handle. #>
        # The module comes with the runspace, not as a first statement: Stop() and Dispose() during a batch of
        # statements let PowerShell run the next one on a closed runspace, an unhandled exception that ends pwsh.
        $state = [initialsessionstate]::CreateDefault2()
        $state.ImportPSModule([string[]] @(Get-WsyncModulePath))
        $ps = [powershell]::Create($state)
        $null = $ps.AddCommand($Command).AddParameters($Parameters).AddParameter('Verbose')
        [pscustomobject]@{ PowerShell = $ps; Handle = $ps.BeginInvoke() }
    }

    function Wait-Sending($Run, [string] $Remote) {
        <# Polls until the pipeline shows a transfer to $Remote under way (a record between 0 and 100 %). #>
        Wait-Until -TimeoutSec 30 -Because "progress of the transfer to $Remote" {
            @($Run.PowerShell.Streams.Progress | Where-Object {
                    $_.Activity -like "*$Remote" -and $_.RecordType -eq 'Processing' -and $_.PercentComplete -lt 100 -and $_.StatusDescription -like '*MiB*'
                }).Count -gt 0
        }
    }

    function Stop-Waiting($Run, [int] $DaemonId, [int] $MonitorId) {
        <# Ctrl+C (StopProcessing): the cmdlet stops within 2 s, and the daemon and monitor are unharmed. #>
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $Run.PowerShell.Stop()

        $clock.Elapsed.TotalSeconds | Should -BeLessThan 2
        $Run.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
        $Run.PowerShell.Dispose()
        Assert-Healthy $DaemonId $MonitorId
    }

    function Assert-Healthy([int] $DaemonId, [int] $MonitorId) {
        <# The same daemon answers at once, its state lock is free, and the workspace's monitor is the same one. #>
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $state = Get-WsyncWorkspace project
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 2 -Because 'the daemon answers at once'
        (Get-WsyncDaemon).ProcessId | Should -Be $DaemonId
        $state.MonitorProcessId | Should -Be $MonitorId
        # Adding and removing a workspace takes the state lock twice: it is not stuck.
        $probe = New-Item -ItemType Directory -Force (Join-Path $root 'lock-probe')
        Add-WsyncWorkspace $probe.FullName | Out-Null
        Remove-WsyncWorkspace lock-probe -Confirm:$false
    }
}

AfterAll {
    Clear-WsyncTest $root
    $link.Dispose()
    $sshd.Dispose()
}

Describe 'Progress and -Verbose' {
    It 'Connect-WsyncRemote shows the initial sync''s percentage, files, bytes and time left, then completes it' {
        # -DriftAction Report: the tests below delete big.bin from this mirror by hand for a full sync to send it again,
        # which the default (Undo) would do at once, by itself.
        $run = Start-InPipeline Connect-WsyncRemote (@{ Workspace = 'project'; Destination = $sshd.Destination($mirror); Name = 'slow'; DriftAction = 'Report' } + $sshParameters)

        Wait-Until -TimeoutSec 60 -Because 'Connect-WsyncRemote to return' { $run.Handle.IsCompleted }
        $remote = $run.PowerShell.EndInvoke($run.Handle)

        $run.PowerShell.Streams.Error | Should -BeNullOrEmpty
        $remote.State | Should -Be 'InSync'
        $progress = @($run.PowerShell.Streams.Progress)
        $under = @($progress | Where-Object { $_.RecordType -eq 'Processing' -and $_.PercentComplete -gt 0 -and $_.PercentComplete -lt 100 })
        $under.Count | Should -BeGreaterThan 0 -Because 'the 4 s transfer is reported while it runs'
        $under[-1].StatusDescription | Should -Match '^\d+ of 2\d files, [\d.]+ MiB of [\d.]+ MiB$'
        $under[-1].Activity | Should -Be 'Initial sync of project → slow'
        @($progress | Where-Object SecondsRemaining -GT 0).Count | Should -BeGreaterThan 0 -Because 'a transfer running for seconds has an estimate'
        $progress[-1].RecordType | Should -Be 'Completed'
        $progress[-1].ActivityId | Should -Be $under[-1].ActivityId
        $verbose = @($run.PowerShell.Streams.Verbose.Message)
        $verbose | Should -Contain 'Initial sync of project → slow: under way.'
        ($verbose -join "`n") | Should -Match 'Checking that .*mirror can be mirrored to'
        ($verbose -join "`n") | Should -Match "Connected remote 'slow' to 'project'; it is InSync in [\d.]+ s\."
        ($verbose -join "`n") | Should -Match 'wsync daemon .*pid \d+'
        Assert-Mirrored $workspace $mirror
        $run.PowerShell.Dispose()
    }

    It 'Sync-WsyncWorkspace shows one activity per remote, completes each, and tells each remote''s outcome' {
        Connect-WsyncRemote project $disk.FullName -Name disk | Out-Null
        Remove-Item -Force (Join-Path $mirror 'big.bin'), (Join-Path $disk 'big.bin') # behind wsync's back: the full sync resends it

        $run = Start-InPipeline Sync-WsyncWorkspace @{ Name = 'project' }
        Wait-Until -TimeoutSec 60 -Because 'Sync-WsyncWorkspace to return' { $run.Handle.IsCompleted }
        $null = $run.PowerShell.EndInvoke($run.Handle)

        $run.PowerShell.Streams.Error | Should -BeNullOrEmpty
        $progress = @($run.PowerShell.Streams.Progress)
        $slow = @($progress | Where-Object Activity -EQ 'Syncing project → slow')
        $local = @($progress | Where-Object Activity -EQ 'Syncing project → disk')
        $slow[0].ActivityId | Should -Not -Be $local[0].ActivityId
        @($slow | Where-Object { $_.RecordType -eq 'Processing' -and $_.PercentComplete -in 1..99 }).Count | Should -BeGreaterThan 0
        $slow[-1].RecordType | Should -Be 'Completed'
        $local[-1].RecordType | Should -Be 'Completed'
        $verbose = $run.PowerShell.Streams.Verbose.Message -join "`n"
        $verbose | Should -Match "'project' names 'project' \("
        $verbose | Should -Match "Fully syncing every remote of 'project': done, the workspace is Watching in [\d.]+ s\."
        $verbose | Should -Match "Remote 'slow' of 'project' \(.*\): InSync"
        $verbose | Should -Match "Remote 'disk' of 'project' \(.*\): InSync"
        Assert-Mirrored $workspace $mirror
        Assert-Mirrored $workspace $disk
        $run.PowerShell.Dispose()
    }

    It 'completes the progress when the sync fails half way (the link is cut)' {
        Disconnect-WsyncRemote project disk -Confirm:$false
        Remove-Item -Force (Join-Path $mirror 'big.bin')
        $run = Start-InPipeline Sync-WsyncWorkspace @{ Name = 'project' }
        Wait-Sending $run 'slow'

        $link.Cut()

        Wait-Until -TimeoutSec 60 -Because 'Sync-WsyncWorkspace to fail' { $run.Handle.IsCompleted }
        $null = $run.PowerShell.EndInvoke($run.Handle)
        $run.PowerShell.Streams.Error[0].FullyQualifiedErrorId | Should -Be 'SyncFailed,Wsync.Commands.SyncWsyncWorkspace'
        $run.PowerShell.Streams.Progress[-1].RecordType | Should -Be 'Completed'
        $run.PowerShell.Dispose()
        Wait-WsyncWorkspace project -TimeoutSec 60 # the remote reconnects by itself once the link is back
        Assert-Mirrored $workspace $mirror
    }
}

Describe 'Ctrl+C' {
    BeforeAll {
        $daemonId = (Get-WsyncDaemon).ProcessId
        $monitorId = (Get-WsyncWorkspace project).MonitorProcessId
    }

    It 'stops waiting for Sync-WsyncWorkspace at once; the sync goes on and the daemon stays healthy' {
        Remove-Item -Force (Join-Path $mirror 'big.bin')
        $run = Start-InPipeline Sync-WsyncWorkspace @{ Name = 'project' }
        Wait-Sending $run 'slow'

        Stop-Waiting $run $daemonId $monitorId
        Set-Content (Join-Path $workspace 'after-stop.txt') 'a change made after Ctrl+C'
        Wait-WsyncWorkspace project -TimeoutSec 60
        Get-Content (Join-Path $mirror 'after-stop.txt') | Should -Be 'a change made after Ctrl+C'
        Assert-Mirrored $workspace $mirror # the stopped wait's full sync went on: big.bin is back
        Sync-WsyncWorkspace project
        Assert-Mirrored $workspace $mirror
    }

    It 'stops waiting for Connect-WsyncRemote''s initial sync at once; the remote stays connected and its sync goes on' {
        $second = Join-Path $root 'mirror-2'
        $run = Start-InPipeline Connect-WsyncRemote (@{ Workspace = 'project'; Destination = $sshd.Destination($second); Name = 'second' } + $sshParameters)
        Wait-Sending $run 'second'

        Stop-Waiting $run $daemonId $monitorId
        (Get-WsyncRemote project second).State | Should -BeIn 'InitialSync', 'Syncing', 'InSync'
        Wait-WsyncWorkspace project -TimeoutSec 60
        Assert-Mirrored $workspace $second
        (Get-WsyncRemote project).State | Should -Be @('InSync', 'InSync')
    }
}
