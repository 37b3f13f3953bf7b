BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
    $sshd = Start-TestSshServer (Join-Path $root 'sshd')
    # As root the sshd logs in as a plain-shell account: it must be able to create the mirrors in $root.
    $sshd.Own($root, $false)
    $sshParameters = @{ Port = $sshd.Port; IdentityFile = $sshd.IdentityFile; SshOption = $sshd.SshOptions }
}

AfterAll {
    Clear-WsyncTest $root
    $sshd.Dispose()
}

Describe 'Mirroring one workspace to three remotes at once' {
    BeforeAll {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'project')
        $sshA = Join-Path $root 'remote-a'
        $sshB = Join-Path $root 'remote-b'
        $disk = New-Item -ItemType Directory (Join-Path $root 'disk')

        # What exists before the remotes are attached: the initial sync sends it.
        New-Item -ItemType Directory (Join-Path $workspace 'old-dir/inner') | Out-Null
        Set-Content (Join-Path $workspace 'old-dir/inner/file') 'deleted with its directory'
        Set-Content (Join-Path $workspace 'rename-me.txt') 'renamed'
        New-Item -ItemType Directory (Join-Path $workspace 'move-me/sub') | Out-Null
        Set-Content (Join-Path $workspace 'move-me/sub/kept') 'moved with its directory'
        Set-Content (Join-Path $workspace 'delete-me') 'deleted'
        Set-Content (Join-Path $workspace 'script.sh') '#!/bin/sh'
        $big = Join-Path $workspace 'big.bin'
        [System.IO.File]::WriteAllBytes($big, [System.Security.Cryptography.RandomNumberGenerator]::GetBytes(50MB))

        Add-WsyncWorkspace $workspace.FullName -Name project | Out-Null
        $remotes = @(
            Connect-WsyncRemote project "$($sshd.User)@$($sshd.Host):$sshA" -Name ssh-a @sshParameters
            Connect-WsyncRemote project "ssh://$($sshd.User)@$($sshd.Host):$($sshd.Port)$sshB" -Name ssh-b -IdentityFile $sshd.IdentityFile -SshOption $sshd.SshOptions
            Connect-WsyncRemote project $disk.FullName -Name disk
        )
    }

    It 'makes each remote an exact mirror when it is attached' {
        $remotes.State | Should -Be @('InSync', 'InSync', 'InSync')
        Assert-Mirrored $workspace $sshA
        Assert-Mirrored $workspace $sshB
        Assert-Mirrored $workspace $disk
    }

    It 'mirrors a scripted mix of every kind of change exactly, everywhere' {
        # Each name would create this file (in a shell's working directory) if a shell ever ran it.
        $marker = 'wsync-injected-' + [guid]::NewGuid().ToString('n')

        # Nested directories and a thousand small files.
        New-Item -ItemType Directory (Join-Path $workspace 'src/a/b/c') | Out-Null
        Set-Content (Join-Path $workspace 'src/a/b/c/deep.c') 'int deep;'
        New-Item -ItemType Directory (Join-Path $workspace 'many') | Out-Null
        foreach ($i in 0..999) {
            [System.IO.File]::WriteAllText((Join-Path $workspace "many/f$i.txt"), "small file $i")
        }

        # A 50 MB file modified in the middle.
        $stream = [System.IO.File]::Open($big, 'Open', 'ReadWrite')
        $stream.Position = 25MB
        $stream.Write([byte[]](1..255), 0, 255)
        $stream.Dispose()

        # Deletes of a file and of a non-empty directory; renames of a file and a directory.
        Remove-Item (Join-Path $workspace 'delete-me')
        Remove-Item -Recurse (Join-Path $workspace 'old-dir')
        Move-Item (Join-Path $workspace 'rename-me.txt') (Join-Path $workspace 'renamed.txt')
        Move-Item (Join-Path $workspace 'move-me') (Join-Path $workspace 'src/moved')

        # chmod +x, symlinks (one dangling), empty files.
        & chmod +x (Join-Path $workspace 'script.sh')
        New-Item -ItemType SymbolicLink -Path (Join-Path $workspace 'link-to-src') -Target 'src' | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $workspace 'dangling') -Target '../does/not/exist' | Out-Null
        New-Item -ItemType File (Join-Path $workspace 'empty') | Out-Null
        New-Item -ItemType File (Join-Path $workspace 'src/empty too') | Out-Null

        # Names that are data, never code: spaces, unicode, a newline, a leading dash, quotes, metacharacters.
        $names = @(
            'with space.txt', 'ünïcødé ✓ 日本.txt', "new`nline", '-leading-dash', "quote's and `"double`"",
            "`$(touch $marker)", "``touch $marker``", "; touch $marker; #", '| & > < * ? [x]', '--rsh=touch'
        )
        foreach ($name in $names) {
            [System.IO.File]::WriteAllText((Join-Path $workspace $name), "name: $name")
        }
        New-Item -ItemType Directory (Join-Path $workspace "dir with `$(touch $marker) in it") | Out-Null
        Move-Item -LiteralPath (Join-Path $workspace 'with space.txt') (Join-Path $workspace "renamed `$(touch $marker).txt")

        Wait-WsyncWorkspace project -TimeoutSec 120

        Assert-Mirrored $workspace $sshA
        Assert-Mirrored $workspace $sshB
        Assert-Mirrored $workspace $disk
        foreach ($directory in $HOME, '/', '/tmp', $workspace, $sshA, $sshB, $disk, $env:WSYNC_HOME) {
            Test-Path -LiteralPath (Join-Path $directory $marker) | Should -BeFalse -Because "no name may run as code (looked in $directory)"
        }
        (Get-WsyncRemote project).State | Should -Be @('InSync', 'InSync', 'InSync')
    }

    It 'shows each remote''s state, last sync and bytes sent' {
        $listed = Get-WsyncRemote project
        $listed | ForEach-Object {
            $_.LastSyncTime | Should -Not -BeNullOrEmpty
            $_.BytesSent | Should -BeGreaterThan 50MB
            $_.PendingChanges | Should -Be 0
            $_.LastError | Should -BeNullOrEmpty
        }
        $workspaceState = Get-WsyncWorkspace project
        $workspaceState.State | Should -Be 'Watching'
        $workspaceState.PendingChanges | Should -Be 0
    }
}

Describe 'Sync, Suspend, Resume and Wait' {
    BeforeAll {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'web')
        $mirror = Join-Path $root 'web-mirror'
        Set-Content (Join-Path $workspace 'index.html') '<h1>hi</h1>'
        Add-WsyncWorkspace $workspace.FullName | Connect-WsyncRemote -Destination "$($sshd.User)@$($sshd.Host):$mirror" @sshParameters | Out-Null
    }

    It 'Sync-WsyncWorkspace makes the remote exact again after it was changed behind wsync''s back' {
        Set-Content (Join-Path $mirror 'index.html') 'tampered'
        Set-Content (Join-Path $mirror 'stray') 'not in the workspace'

        $synced = Get-WsyncWorkspace web | Sync-WsyncWorkspace -PassThru

        $synced.Name | Should -Be 'web'
        Assert-Mirrored $workspace $mirror
    }

    It 'Suspend-WsyncWorkspace holds changes and Resume-WsyncWorkspace sends them' {
        Suspend-WsyncWorkspace web
        (Get-WsyncWorkspace web).State | Should -Be 'Suspended'
        Set-Content (Join-Path $workspace 'while-suspended') 'held'
        Wait-Until { (Get-WsyncRemote web).PendingChanges -gt 0 } -Because 'the change to be pending'
        Test-Path (Join-Path $mirror 'while-suspended') | Should -BeFalse
        { Wait-WsyncWorkspace web -ErrorAction Stop } | Should -Throw -ErrorId 'WorkspaceSuspended,Wsync.Commands.WaitWsyncWorkspace'

        Get-WsyncWorkspace web | Resume-WsyncWorkspace
        Wait-WsyncWorkspace web -TimeoutSec 60

        Assert-Mirrored $workspace $mirror
    }

    It 'Wait-WsyncWorkspace times out with an error naming the remote that is behind' {
        $sshd.Stop()
        try {
            Set-Content (Join-Path $workspace 'during-cut') 'x'
            $record = { Wait-WsyncWorkspace web -TimeoutSec 2 -ErrorAction Stop } | Should -Throw -ErrorId 'WaitTimeout,Wsync.Commands.WaitWsyncWorkspace' -PassThru
            $record.CategoryInfo.Category | Should -Be 'OperationTimeout'
            $record.TargetObject | Should -Be 'web'
            $record.Exception.Message | Should -Match '127\.0\.0\.1'
        }
        finally {
            $sshd.Resume()
        }
        Wait-WsyncWorkspace web -TimeoutSec 60
        Assert-Mirrored $workspace $mirror
    }
}

Describe 'Connecting to an ssh destination that cannot work' {
    BeforeAll {
        $workspace = New-Item -ItemType Directory (Join-Path $root 'api')
        Add-WsyncWorkspace $workspace.FullName | Out-Null
    }

    It 'refuses <Case> with <ErrorId> and stores nothing' -ForEach @(
        @{ Case = 'an unknown host key'; ErrorId = 'HostKeyUnknown'; Category = 'SecurityError' }
        @{ Case = 'a changed host key'; ErrorId = 'HostKeyChanged'; Category = 'SecurityError' }
        @{ Case = 'a wrong port'; ErrorId = 'DestinationUnreachable'; Category = 'ConnectionError' }
        @{ Case = 'a key the server does not accept'; ErrorId = 'SshAuthenticationFailed'; Category = 'PermissionDenied' }
    ) {
        $file = Join-Path $env:WSYNC_HOME 'wsync-ws-config.json'
        $before = Get-Content -Raw $file
        $destination = "$($sshd.User)@$($sshd.Host):$(Join-Path $root 'api-mirror')"
        $command = switch ($Case) {
            'an unknown host key' { { Connect-WsyncRemote api $destination -Port $sshd.Port -IdentityFile $sshd.IdentityFile -SshOption "UserKnownHostsFile=$(Join-Path $root 'empty_known_hosts')" -ErrorAction Stop } }
            'a changed host key' {
                # known_hosts records another key for this host and port: what a reinstalled host or a man in the middle looks like.
                $impostor = Join-Path $root 'impostor_host_key'
                if (-not (Test-Path $impostor)) { & ssh-keygen -q -t ed25519 -N '' -f $impostor }
                $recorded = Join-Path $root 'changed_known_hosts'
                Set-Content $recorded "[$($sshd.Host)]:$($sshd.Port) $((Get-Content "$impostor.pub").Split(' ')[0..1] -join ' ')"
                { Connect-WsyncRemote api $destination -Port $sshd.Port -IdentityFile $sshd.IdentityFile -SshOption "UserKnownHostsFile=$recorded" -ErrorAction Stop }
            }
            'a wrong port' { { Connect-WsyncRemote api $destination -Port 1 -IdentityFile $sshd.IdentityFile -SshOption $sshd.SshOptions -ErrorAction Stop } }
            'a key the server does not accept' {
                $otherKey = Join-Path $root 'other_key'
                if (-not (Test-Path $otherKey)) { & ssh-keygen -q -t ed25519 -N '' -f $otherKey }
                { Connect-WsyncRemote api $destination -Port $sshd.Port -IdentityFile $otherKey -SshOption $sshd.SshOptions -ErrorAction Stop }
            }
        }

        $record = $command | Should -Throw -ErrorId "$ErrorId,Wsync.Commands.ConnectWsyncRemote" -PassThru

        $record.CategoryInfo.Category | Should -Be $Category
        $record.TargetObject | Should -Be $destination
        Get-Content -Raw $file | Should -Be $before
        if ($ErrorId -like 'HostKey*') {
            # The message names the key the host really offers, so the user can check it before trusting it.
            $fingerprint = (& ssh-keygen -l -f (Join-Path $sshd.Directory 'host_ed25519.pub')).Split(' ')[1]
            $record.Exception.Message | Should -BeLike "*$fingerprint*"
            $record.Exception.Message | Should -BeLike "*$($sshd.Host)*"
        }
    }
}
