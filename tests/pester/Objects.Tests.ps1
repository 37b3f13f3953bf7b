# Objects as PowerShell users handle them: views, declared output types, JSON and CSV, and pipelines that
# bind by property name and act on exactly the objects piped.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest

    function New-TestWorkspace([string] $Name) {
        $directory = New-Item -ItemType Directory -Force (Join-Path $root "ws/$Name")
        Set-Content (Join-Path $directory 'file.txt') $Name
        Add-WsyncWorkspace $directory.FullName
    }

    function New-TestMirror([string] $Name) {
        (New-Item -ItemType Directory -Force (Join-Path $root "mirrors/$Name")).FullName
    }

    function Reset-TestWorkspaces {
        Get-WsyncWorkspace | Remove-WsyncWorkspace
        foreach ($name in 'web1', 'web2', 'api') {
            New-TestWorkspace $name | Out-Null
            Connect-WsyncRemote $name (New-TestMirror "$name-$([guid]::NewGuid().ToString('n').Substring(0, 6))") -Name mirror | Out-Null
        }
    }
}

AfterAll {
    Clear-WsyncTest $root
}

Describe 'Output types and views' {
    It 'emits exactly the types each cmdlet declares with [OutputType]' {
        $emitted = [ordered]@{}
        $emitted['Start-WsyncDaemon'] = Start-WsyncDaemon -PassThru
        $emitted['Get-WsyncDaemon'] = Get-WsyncDaemon
        $emitted['Add-WsyncWorkspace'] = New-TestWorkspace 'types'
        $emitted['Get-WsyncWorkspace'] = Get-WsyncWorkspace types
        $emitted['Connect-WsyncRemote'] = Connect-WsyncRemote types (New-TestMirror 'types') -Name disk
        $emitted['Get-WsyncRemote'] = Get-WsyncRemote types
        $emitted['Sync-WsyncWorkspace'] = Sync-WsyncWorkspace types -PassThru
        $emitted['Wait-WsyncWorkspace'] = Wait-WsyncWorkspace types -PassThru
        $emitted['Suspend-WsyncWorkspace'] = Suspend-WsyncWorkspace types -PassThru
        $emitted['Resume-WsyncWorkspace'] = Resume-WsyncWorkspace types -PassThru
        $emitted['Disconnect-WsyncRemote'] = Disconnect-WsyncRemote types disk -PassThru
        $emitted['Remove-WsyncWorkspace'] = Remove-WsyncWorkspace types -PassThru
        $emitted['Get-WsyncLog'] = Get-WsyncLog -Tail 1
        # A watch sees the workspace added while it runs; it ends after the first event (or its timeout).
        $watch = [powershell]::Create().AddScript("Import-Module '$env:WSYNC_MODULE_PATH'; Watch-WsyncWorkspace -TimeoutSec 30 | Select-Object -First 1")
        $handle = $watch.BeginInvoke()
        Wait-Until { (Get-WsyncDaemon).WatcherCount -ge 1 } -Because 'the daemon to serve the watch'
        New-TestWorkspace 'types-watched' | Out-Null
        $emitted['Watch-WsyncWorkspace'] = $watch.EndInvoke($handle)
        $watch.Dispose()
        Remove-WsyncWorkspace 'types-watched' -Confirm:$false

        # Register- and Unregister-WsyncDaemon need a systemd user manager: Register.Tests.ps1 checks what they write.
        $exported = (Get-Module wsync).ExportedCmdlets.Keys | Where-Object { $_ -notin 'Stop-WsyncDaemon', 'Register-WsyncDaemon', 'Unregister-WsyncDaemon' }
        $emitted.Keys | Sort-Object | Should -Be ($exported | Sort-Object) -Because 'every cmdlet that writes objects is checked'
        foreach ($name in $emitted.Keys) {
            $declared = @((Get-Command $name).OutputType.Type)
            $objects = @($emitted[$name])
            $objects | Should -Not -BeNullOrEmpty -Because "$name writes its object"
            foreach ($object in $objects) {
                $declared | Should -Contain $object.GetType() -Because "$name declares what it writes"
            }
        }
        @((Get-Command Stop-WsyncDaemon).OutputType.Type) | Should -Be @([void])
    }

    It 'shows workspaces, remotes and the daemon in readable lists' {
        New-TestWorkspace 'shown' | Out-Null
        Connect-WsyncRemote shown (New-TestMirror 'shown') -Name disk | Out-Null
        Wait-Until { (Get-WsyncRemote shown).State -eq 'InSync' -and (Get-WsyncRemote shown).LastSyncTime } -Because 'the remote to report its initial sync'

        $workspace = Get-WsyncWorkspace shown | Format-List | Out-String -Width 200
        $workspace | Should -Match 'State\s+: Watching'
        $workspace | Should -Match 'Remotes\s+: disk \(InSync\)'
        $workspace | Should -Match 'WatchedDirectories\s+: 1'
        $workspace | Should -Not -Match 'System\.Collections|Wsync\.Remote'

        $remote = Get-WsyncRemote shown | Format-List | Out-String -Width 200
        $remote | Should -Match 'Destination\s+: .*/mirrors/shown'
        $remote | Should -Match 'BytesSent\s+: \d+ B'
        $remote | Should -Match 'LastSyncTime\s+: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d'

        Get-WsyncDaemon | Format-List | Out-String | Should -Match 'ProtocolVersion\s+: \d'
        Remove-WsyncWorkspace shown
    }
}

Describe 'Default table views at 80 columns' {
    BeforeAll {
        $long = 'a-name-much-longer-than-any-column-has-room-for'
        $when = [datetimeoffset]::new(2026, 12, 2, 9, 30, 15, [timespan]::Zero)
        $remote = [Wsync.Remote]@{
            Id = [guid]::NewGuid(); WorkspaceId = [guid]::NewGuid(); Workspace = $long; Name = $long; Destination = "me@build1:/srv/$long"
            Kind = 'Ssh'; State = 'InitialSync'; PendingChanges = 1234567; LastSyncTime = $when
            LastError = "ssh could not log in to me@build1:/srv/$long with a key (wsync never asks for passwords)."
        }
        $samples = [ordered]@{
            'Get-WsyncWorkspace' = [Wsync.Workspace]@{
                Id = [guid]::NewGuid(); Name = $long; Path = "/home/me/src/$long/$long"; State = 'Suspended'; Remotes = [Wsync.Remote[]]@($remote, $remote)
                PendingChanges = 1234567; LastSyncTime = $when
            }
            'Get-WsyncRemote'      = $remote
            'Get-WsyncLog'         = [Wsync.LogEntry]@{ Time = $when; Level = 'Information'; Process = 'wsync-monitor'; Workspace = $long; Message = "Full reconcile to me@build1:/srv/$long ended" }
            'Watch-WsyncWorkspace' = [Wsync.SyncEvent]@{ Time = $when; Kind = 'WorkspaceStateChanged'; Workspace = $long; Remote = $long; OldState = 'Watching'; NewState = 'Halted'; Message = "The workspace root /home/me/src/$long is missing" }
        }
    }

    It '<_> keeps every column on one line, cutting long values with "…"' -ForEach @('Get-WsyncWorkspace', 'Get-WsyncRemote', 'Get-WsyncLog', 'Watch-WsyncWorkspace') {
        $object = $samples[$_]
        $lines = @(($object | Format-Table | Out-String -Width 80).Split("`n") | ForEach-Object TrimEnd | Where-Object { $_ })
        $lines.Count | Should -Be 3 -Because "a header, its rule and one row, none wrapped:`n$($lines -join "`n")"
        foreach ($line in $lines) {
            $line.Length | Should -BeLessOrEqual 80 -Because "'$line' must fit 80 columns"
        }
        $view = (Get-FormatData $object.GetType().FullName).FormatViewDefinition | Where-Object { $_.Control -is [System.Management.Automation.TableControl] }
        foreach ($header in $view.Control.Headers.Label) {
            $lines[0] | Should -Match "\b$header\b" -Because "the $header column must not be pushed off"
        }
        $lines[2] | Should -Match '…' -Because 'long values are cut, not wrapped'
        $lines[2] | Should -Not -Match ([regex]::Escape($long)) -Because 'no value overflows its column'
    }
}

Describe 'JSON and CSV' {
    BeforeAll {
        Reset-TestWorkspaces
        Wait-WsyncWorkspace web1
    }

    It 'keeps names, paths, states, times and nested remotes through ConvertTo-Json and ConvertFrom-Json' {
        $original = Get-WsyncWorkspace web1
        $copy = $original | ConvertTo-Json -Depth 5 -EnumsAsStrings | ConvertFrom-Json

        $copy.Name | Should -Be 'web1'
        $copy.Path | Should -Be $original.Path
        $copy.State | Should -Be 'Watching'
        [guid]$copy.Id | Should -Be $original.Id
        [datetimeoffset]$copy.Created | Should -Be $original.Created
        $copy.StateReason | Should -BeNullOrEmpty
        $copy.Remotes.Name | Should -Be 'mirror'
        $copy.Remotes.Destination | Should -Be $original.Remotes[0].Destination
        $copy.Remotes.State | Should -Be 'InSync'

        # Without -EnumsAsStrings states are numbers, as for every PowerShell object; they cast back.
        [Wsync.WorkspaceState](($original | ConvertTo-Json -Depth 5 | ConvertFrom-Json).State) | Should -Be 'Watching'
    }

    It 'writes one readable CSV row per object' {
        $csv = Join-Path $root 'workspaces.csv'
        Get-WsyncWorkspace | Export-Csv $csv
        $rows = Import-Csv $csv

        $rows | Should -HaveCount 3
        ($rows | Sort-Object Name).Name | Should -Be @('api', 'web1', 'web2')
        $rows | ForEach-Object {
            $_.Remotes | Should -Be 'mirror'
            $_.State | Should -Be 'Watching'
            Test-Path $_.Path | Should -BeTrue
        }
        Get-Content -Raw $csv | Should -Not -Match 'System\.|Wsync\.'

        Get-WsyncRemote | Export-Csv $csv
        $remotes = Import-Csv $csv
        $remotes | Should -HaveCount 3
        ($remotes | Sort-Object Workspace).Workspace | Should -Be @('api', 'web1', 'web2')
        Get-Content -Raw $csv | Should -Not -Match 'System\.|Wsync\.'
    }
}

Describe 'Pipelines act on exactly the objects piped' {
    BeforeEach {
        Reset-TestWorkspaces
    }

    It 'Get-WsyncWorkspace ''web*'' | Remove-WsyncWorkspace leaves api only' {
        Get-WsyncWorkspace 'web*' | Remove-WsyncWorkspace
        (Get-WsyncWorkspace).Name | Should -Be 'api'
    }

    It 'Get-WsyncRemote | Disconnect-WsyncRemote detaches only the remotes piped' {
        Get-WsyncRemote -Workspace 'web*' | Disconnect-WsyncRemote
        (Get-WsyncRemote).Workspace | Should -Be 'api'
        (Get-WsyncWorkspace).Name | Sort-Object | Should -Be @('api', 'web1', 'web2')
    }

    It 'Get-WsyncWorkspace | Get-WsyncRemote gets the remotes of the workspaces piped' {
        (Get-WsyncWorkspace 'web*' | Get-WsyncRemote).Workspace | Sort-Object | Should -Be @('web1', 'web2')
    }

    It 'Get-WsyncWorkspace | Suspend-, Resume-, Sync- and Wait-WsyncWorkspace act on the workspaces piped' {
        Get-WsyncWorkspace 'web*' | Suspend-WsyncWorkspace
        Get-WsyncWorkspace | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.State)" } |
            Should -Be @('api=Watching', 'web1=Suspended', 'web2=Suspended')

        Get-WsyncWorkspace web2 | Resume-WsyncWorkspace
        Get-WsyncWorkspace | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.State)" } |
            Should -Be @('api=Watching', 'web1=Suspended', 'web2=Watching')

        Set-Content (Join-Path $root 'ws/web2/new.txt') 'new'
        $waited = Get-WsyncWorkspace web2 | Wait-WsyncWorkspace -TimeoutSec 30 -PassThru
        $waited.Name | Should -Be 'web2'
        Test-Path (Join-Path (Get-WsyncRemote web2).Path 'new.txt') | Should -BeTrue

        $synced = Get-WsyncWorkspace 'web*' | Where-Object State -EQ Watching | Sync-WsyncWorkspace -PassThru
        $synced.Name | Should -Be 'web2'
    }

    It 'Import-Csv rows with Name and Path add workspaces' {
        Get-WsyncWorkspace | Remove-WsyncWorkspace
        $csv = Join-Path $root 'to-add.csv'
        @(
            [pscustomobject]@{ Name = 'from-csv-1'; Path = (New-Item -ItemType Directory -Force (Join-Path $root 'csv/one')).FullName }
            [pscustomobject]@{ Name = 'from-csv-2'; Path = (New-Item -ItemType Directory -Force (Join-Path $root 'csv/two')).FullName }
        ) | Export-Csv $csv

        $added = Import-Csv $csv | Add-WsyncWorkspace

        $added.Name | Should -Be @('from-csv-1', 'from-csv-2')
        (Get-WsyncWorkspace | Sort-Object Name).Path | Should -Be @((Join-Path $root 'csv/one'), (Join-Path $root 'csv/two'))
    }
}
