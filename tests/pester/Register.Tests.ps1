# Register-WsyncDaemon and Unregister-WsyncDaemon against a real systemd user manager of the test's own
# (systemd --user on private directories: tests/Wsync.TestSupport/UserManager.cs). Logging the manager out
# and in again is a logout and a login, or a shutdown and a boot; with no wsync command typed, the daemon
# starts and every remote converges, as the remote trees themselves show.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    Import-WsyncTestSupport
    $noUserManager = [Wsync.TestSupport.UserManager]::Unavailable
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
    Import-WsyncTestSupport
    $previousRuntime = $env:XDG_RUNTIME_DIR
    $previousConfig = $env:XDG_CONFIG_HOME

    function Get-HomeProcessIds {
        # Every wsyncd and wsync-monitor of this home, and each ssh master they started, wherever started from.
        $daemons = @([Wsync.TestSupport.Processes]::Named('wsyncd', $env:WSYNC_HOME))
        $monitors = @([Wsync.TestSupport.Processes]::Monitors("$env:WSYNC_HOME/"))
        $masters = @($monitors | ForEach-Object { [Wsync.TestSupport.Processes]::Descendants($_) } | Where-Object {
                ([Wsync.TestSupport.Processes]::CommandLine($_) -join ' ') -like 'ssh -M *' })
        [pscustomobject]@{ Daemons = $daemons; Monitors = $monitors; Masters = $masters }
    }

    function Wait-Mirrored([string] $Expected, [string] $Actual, [int] $TimeoutSec = 60) {
        # Polls the remote tree itself: no wsync command runs meanwhile.
        $differences = $null
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        while (($differences = [Wsync.TestSupport.TreeSnapshot]::Compare($Expected, $Actual, $null)).Count -gt 0) {
            if ($clock.Elapsed.TotalSeconds -gt $TimeoutSec) {
                throw "$Actual still differs after $TimeoutSec s:`n" + (($differences | Select-Object -First 20) -join "`n")
            }
            Start-Sleep -Milliseconds 50
        }
    }
}

AfterAll {
    $env:XDG_RUNTIME_DIR = $previousRuntime
    $env:XDG_CONFIG_HOME = $previousConfig
    Clear-WsyncTest $root
}

Describe 'Register-WsyncDaemon where no systemd user manager runs' {
    It 'fails with SystemdUserManagerUnavailable naming the alternative, and changes nothing' {
        $env:XDG_RUNTIME_DIR = (New-Item -ItemType Directory (Join-Path $root 'no-manager')).FullName
        $env:XDG_CONFIG_HOME = Join-Path $root 'no-manager-config'
        try {
            $record = { Register-WsyncDaemon -ErrorAction Stop } | Should -Throw -ErrorId 'SystemdUserManagerUnavailable,Wsync.Commands.RegisterWsyncDaemon' -PassThru
            $record.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            $record.TargetObject | Should -Be $env:WSYNC_HOME
            $record.Exception.Message | Should -BeLike '*Start-WsyncDaemon*'
            $record.Exception.Message | Should -BeLike '*nothing was changed*'

            Test-Path $env:XDG_CONFIG_HOME | Should -BeFalse
            Test-Path (Join-Path $env:WSYNC_HOME 'wsyncd-launcher') | Should -BeFalse
            $info = Get-WsyncDaemon
            $info.Running | Should -BeFalse
            $info.Registered | Should -BeFalse
            Unregister-WsyncDaemon -ErrorAction Stop # nothing registered: nothing to do, and no error
        }
        finally {
            $env:XDG_RUNTIME_DIR = $previousRuntime
            $env:XDG_CONFIG_HOME = $previousConfig
        }
    }
}

Describe 'Register-WsyncDaemon with a systemd user manager' -Skip:([bool]$noUserManager) {
    BeforeAll {
        $manager = [Wsync.TestSupport.UserManager]::Start((Join-Path $root 'sd'))
        $env:XDG_RUNTIME_DIR = $manager.RuntimeDirectory
        $env:XDG_CONFIG_HOME = $manager.ConfigDirectory
        $sshd = Start-TestSshServer (Join-Path $root 'sshd')
        $sshd.Own($root, $false)
        $workspace = New-Item -ItemType Directory (Join-Path $root 'project')
        Set-Content (Join-Path $workspace 'kept.txt') 'kept'
        Set-Content (Join-Path $workspace 'edited.txt') 'before'
        Set-Content (Join-Path $workspace 'deleted.txt') 'deleted'
        Set-Content (Join-Path $workspace 'renamed.txt') 'renamed'
        $disk = New-Item -ItemType Directory (Join-Path $root 'disk')
        $overSsh = Join-Path $root 'over-ssh'
    }

    AfterAll {
        Unregister-WsyncDaemon -ErrorAction Ignore -Confirm:$false
        $manager.Dispose()
        $sshd.Dispose()
    }

    It 'writes the unit, enables it and starts the daemon through it; systemd-analyze verify accepts it' {
        $info = Register-WsyncDaemon -PassThru -WarningVariable warnings -WarningAction SilentlyContinue
        $info | Should -BeOfType 'Wsync.DaemonInfo'
        $info.Running | Should -BeTrue
        $info.Registered | Should -BeTrue
        $info.UnitName | Should -BeLike 'wsyncd-*.service'
        $info.UnitPath | Should -Be ([System.IO.Path]::Combine($env:XDG_CONFIG_HOME, 'systemd/user', $info.UnitName)) # Join-Path would turn the \ of \x2d into /
        Test-Path (Join-Path $env:WSYNC_HOME 'wsyncd-launcher') | Should -BeTrue

        $manager.Systemctl('is-enabled', $info.UnitName).Output.Trim() | Should -Be 'enabled'
        $manager.Systemctl('is-active', $info.UnitName).Output.Trim() | Should -Be 'active'
        $manager.Systemctl('show', '-p', 'MainPID', '--value', $info.UnitName).Output.Trim() | Should -Be ([string]$info.ProcessId)
        $verify = & systemd-analyze --user verify $info.UnitPath 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "systemd-analyze verify said: $verify"
        if ($info.Lingering -ne $true) {
            $warnings -join ' ' | Should -BeLike '*loginctl enable-linger*'
        }

        # The unit names the home, and runs the launcher in it, not a module version's folder.
        $unit = [System.IO.File]::ReadAllText($info.UnitPath)
        $unit | Should -BeLike "*--home `"$env:WSYNC_HOME`"*"
        $unit | Should -BeLike "*ExecStart=`"$(Join-Path $env:WSYNC_HOME 'wsyncd-launcher')`"*"
        $unit | Should -BeLike '*KillMode=mixed*'
        $unit | Should -BeLike '*Restart=on-failure*'
    }

    It 'is idempotent: registering again leaves one daemon, under the unit' {
        $info = Register-WsyncDaemon -PassThru -WarningAction SilentlyContinue
        @((Get-HomeProcessIds).Daemons).Count | Should -Be 1
        $manager.Systemctl('show', '-p', 'MainPID', '--value', $info.UnitName).Output.Trim() | Should -Be ([string]$info.ProcessId)
        (Get-WsyncDaemon).Registered | Should -BeTrue
    }

    It 'starts the daemon through the unit when a command needs it, never by itself' {
        $unit = (Get-WsyncDaemon).UnitName
        Stop-WsyncDaemon -Confirm:$false
        $manager.Systemctl('is-active', $unit).Output.Trim() | Should -Be 'inactive' -Because 'a daemon stopped on request exits 0 and is not restarted'
        $info = Get-WsyncDaemon
        $info.Running | Should -BeFalse
        $info.Registered | Should -BeTrue -Because 'registration shows while no daemon runs'

        Add-WsyncWorkspace $workspace.FullName -Name project | Out-Null
        $manager.Systemctl('is-active', $unit).Output.Trim() | Should -Be 'active'
        $manager.Systemctl('show', '-p', 'MainPID', '--value', $unit).Output.Trim() | Should -Be ([string](Get-WsyncDaemon).ProcessId)
        Connect-WsyncRemote project $disk.FullName -Name disk | Out-Null
        Connect-WsyncRemote project "$($sshd.User)@$($sshd.Host):$overSsh" -Name ssh -Port $sshd.Port -IdentityFile $sshd.IdentityFile -SshOption $sshd.SshOptions | Out-Null
        Assert-Mirrored $workspace $disk
        Assert-Mirrored $workspace $overSsh
    }

    It 'restarts a daemon killed -9 with its monitors; what changed meanwhile reaches both remotes with no command typed' {
        $before = Get-HomeProcessIds
        foreach ($id in $before.Daemons + $before.Monitors) {
            [Wsync.TestSupport.Processes]::Kill($id)
        }
        Set-Content (Join-Path $workspace 'created.txt') 'created while nothing ran'
        Set-Content (Join-Path $workspace 'edited.txt') 'after'
        Remove-Item (Join-Path $workspace 'deleted.txt')
        Rename-Item (Join-Path $workspace 'renamed.txt') 'renamed-now.txt'

        Wait-Mirrored $workspace $disk
        Wait-Mirrored $workspace $overSsh
        $after = Get-HomeProcessIds
        @($after.Daemons).Count | Should -Be 1
        $after.Daemons[0] | Should -Not -BeIn $before.Daemons
    }

    It 'at the next login with the ssh host down, mirrors the local remote, retries the other and converges once it is up' {
        $manager.Logout()
        (Get-HomeProcessIds).Daemons | Should -BeNullOrEmpty -Because 'a logout stops the unit'
        $sshd.Stop()
        Set-Content (Join-Path $workspace 'made-before-boot.txt') 'made while logged out'
        Remove-Item (Join-Path $workspace 'kept.txt')

        $manager.Login()
        Wait-Mirrored $workspace $disk
        Wait-Until -TimeoutSec 60 -Because 'the ssh remote to be retried' { (Get-WsyncRemote project ssh).State -eq 'Retrying' }
        $sshd.Resume()
        Wait-Mirrored $workspace $overSsh -TimeoutSec 90
    }

    It 'at the next login with the root missing (a disk mounted later), waits for it, and mirrors it once it is back' {
        $manager.Logout()
        $away = Join-Path $root 'project-away'
        Move-Item $workspace $away
        $manager.Login()
        Wait-Until -TimeoutSec 60 -Because 'the workspace to wait for its root' { (Get-WsyncWorkspace project).State -eq 'Waiting' }
        (Get-WsyncWorkspace project).StateReason | Should -BeLike '*does not exist*'
        Test-Path (Join-Path $disk 'edited.txt') | Should -BeTrue -Because 'nothing is deleted while the root is missing'

        Set-Content (Join-Path $away 'made-while-away.txt') 'unmounted edit'
        Move-Item $away $workspace
        Wait-Mirrored $workspace $disk -TimeoutSec 90
        Wait-Mirrored $workspace $overSsh -TimeoutSec 90
        (Get-WsyncWorkspace project).State | Should -Be 'Watching'
    }

    It 'systemctl --user stop ends the daemon, its monitors and their ssh masters' {
        $running = Get-HomeProcessIds
        @($running.Monitors).Count | Should -BeGreaterThan 0
        @($running.Masters).Count | Should -BeGreaterThan 0
        $manager.Systemctl('stop', (Get-WsyncDaemon).UnitName).Code | Should -Be 0
        foreach ($id in $running.Daemons + $running.Monitors + $running.Masters) {
            Wait-Until -Because "process $id to end" { -not (Test-ProcessAlive $id) }
        }
        (Get-WsyncLog -Tail 5 | Where-Object Process -EQ wsyncd).Message | Should -Contain 'Stopped' -Because 'the daemon stopped cleanly, not killed'
    }

    It 'registers a second home beside the first, each under a unit named after it' {
        $first = Register-WsyncDaemon -PassThru -WarningAction SilentlyContinue
        $previousHome = $env:WSYNC_HOME
        $env:WSYNC_HOME = Join-Path $root 'second home'
        try {
            $second = Register-WsyncDaemon -PassThru -WarningAction SilentlyContinue
            $second.UnitName | Should -Not -Be $first.UnitName
            $second.UnitName | Should -BeLike '*second\x20home.service'
            $second.ProcessId | Should -Not -Be $first.ProcessId
            $manager.Systemctl('is-active', $first.UnitName).Output.Trim() | Should -Be 'active'
            $manager.Systemctl('is-active', $second.UnitName).Output.Trim() | Should -Be 'active'
            (Unregister-WsyncDaemon -PassThru).Registered | Should -BeFalse
        }
        finally {
            $env:WSYNC_HOME = $previousHome
        }
        $manager.Systemctl('is-active', $first.UnitName).Output.Trim() | Should -Be 'active' -Because 'unregistering one home leaves the other'
    }

    It 'Unregister-WsyncDaemon removes the unit, its link and the launcher, and stops the daemon; again, it changes nothing' {
        $info = Register-WsyncDaemon -PassThru -WarningAction SilentlyContinue
        $after = Unregister-WsyncDaemon -PassThru
        $after | Should -BeOfType 'Wsync.DaemonInfo'
        $after.Registered | Should -BeFalse
        $after.Running | Should -BeFalse
        Test-Path -LiteralPath $info.UnitPath | Should -BeFalse
        Test-Path -LiteralPath ([System.IO.Path]::Combine($env:XDG_CONFIG_HOME, 'systemd/user/default.target.wants', $info.UnitName)) | Should -BeFalse
        Test-Path (Join-Path $env:WSYNC_HOME 'wsyncd-launcher') | Should -BeFalse
        Test-ProcessAlive $info.ProcessId | Should -BeFalse
        $manager.Systemctl('is-enabled', $info.UnitName).Code | Should -Not -Be 0

        Unregister-WsyncDaemon -ErrorAction Stop
        (Get-WsyncWorkspace project).Remotes.Count | Should -Be 2 -Because 'workspaces and remotes are kept; this command started a daemon the usual way'
        $manager.Systemctl('is-active', $info.UnitName).Output.Trim() | Should -Not -Be 'active'
    }
}
