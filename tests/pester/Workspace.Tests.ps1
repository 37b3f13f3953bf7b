BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
}

AfterAll {
    Clear-WsyncTest $root
}

Describe 'Add-WsyncWorkspace' {
    AfterEach {
        Get-WsyncWorkspace | Remove-WsyncWorkspace -Confirm:$false
    }

    It 'adds a directory by relative path, named after its leaf, and returns a workspace object' {
        New-Item -ItemType Directory (Join-Path $root 'projects/web') | Out-Null
        Push-Location (Join-Path $root 'projects')
        try {
            $workspace = Add-WsyncWorkspace ./web
        }
        finally {
            Pop-Location
        }

        $workspace | Should -BeOfType 'Wsync.Workspace'
        $workspace.Name | Should -Be 'web'
        $workspace.Path | Should -Be (Join-Path $root 'projects/web')
        $workspace.Id | Should -Not -Be ([guid]::Empty)
        $workspace.Remotes | Should -HaveCount 0
        (Get-Content -Raw (Join-Path $env:WSYNC_HOME 'wsync-ws-config.json') | ConvertFrom-Json).Name | Should -Be 'web'
    }

    It 'takes -Name and -Exclude, and directories from Get-Item in the pipeline' {
        $directory = New-Item -ItemType Directory (Join-Path $root 'api')
        $workspace = $directory | Add-WsyncWorkspace -Name backend -Exclude '*.o', 'build/'

        $workspace.Name | Should -Be 'backend'
        $workspace.Exclude | Should -Be @('*.o', 'build/')
    }

    It 'starts a monitor for the workspace' {
        $directory = New-Item -ItemType Directory (Join-Path $root 'mon')
        Add-WsyncWorkspace $directory.FullName | Out-Null
        Wait-Until { (Get-WsyncWorkspace mon).State -eq 'Watching' } -Because 'the monitor to report'
        Test-ProcessAlive (Get-WsyncWorkspace mon).MonitorProcessId | Should -BeTrue
    }

    It 'reports a missing directory as <ErrorId> and changes nothing' -ForEach @(
        @{ Case = 'missing'; ErrorId = 'WorkspacePathNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'file'; ErrorId = 'WorkspacePathNotDirectory'; Category = 'InvalidArgument' }
        @{ Case = 'root'; ErrorId = 'WorkspacePathUnsafe'; Category = 'InvalidArgument' }
        @{ Case = 'duplicate'; ErrorId = 'WorkspaceNameInUse'; Category = 'ResourceExists' }
        @{ Case = 'wildcard'; ErrorId = 'WorkspaceNameInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'nested'; ErrorId = 'WorkspaceNested'; Category = 'InvalidArgument' }
        @{ Case = 'containing'; ErrorId = 'WorkspaceNested'; Category = 'InvalidArgument' }
        @{ Case = 'home'; ErrorId = 'WorkspacePathUnsafe'; Category = 'InvalidArgument' }
        @{ Case = 'system'; ErrorId = 'WorkspacePathUnsafe'; Category = 'InvalidArgument' }
        @{ Case = 'same path'; ErrorId = 'WorkspacePathInUse'; Category = 'ResourceExists' }
        @{ Case = 'blank name'; ErrorId = 'WorkspaceNameInvalid'; Category = 'InvalidArgument' }
        @{ Case = 'bad exclude'; ErrorId = 'ExcludePatternInvalid'; Category = 'InvalidArgument' }
    ) {
        $existing = New-Item -ItemType Directory -Force (Join-Path $root 'taken')
        Add-WsyncWorkspace $existing.FullName | Out-Null
        $fresh = New-Item -ItemType Directory -Force (Join-Path $root 'fresh')
        Set-Content (Join-Path $root 'a-file') 'x'
        $file = Join-Path $env:WSYNC_HOME 'wsync-ws-config.json'
        $before = Get-Content -Raw $file
        $target, $command = switch ($Case) {
            'missing' { ($p = Join-Path $root 'nope'), { Add-WsyncWorkspace $p -ErrorAction Stop } }
            'file' { ($p = Join-Path $root 'a-file'), { Add-WsyncWorkspace $p -ErrorAction Stop } }
            'root' { '/', { Add-WsyncWorkspace / -ErrorAction Stop } }
            'duplicate' { 'taken', { Add-WsyncWorkspace $fresh.FullName -Name taken -ErrorAction Stop } }
            'wildcard' { 'we*b', { Add-WsyncWorkspace $fresh.FullName -Name 'we*b' -ErrorAction Stop } }
            'nested' { ($p = New-Item -ItemType Directory -Force (Join-Path $existing 'inner')).FullName, { Add-WsyncWorkspace $p -ErrorAction Stop } }
            'containing' { $root, { Add-WsyncWorkspace $root -Name outer -ErrorAction Stop } }
            'home' { ($p = [Environment]::GetFolderPath('UserProfile')), { Add-WsyncWorkspace $p -Name home -ErrorAction Stop } }
            'system' { '/etc', { Add-WsyncWorkspace /etc -ErrorAction Stop } }
            'same path' { $existing.FullName, { Add-WsyncWorkspace $existing.FullName -Name again -ErrorAction Stop } }
            'blank name' { ' ', { Add-WsyncWorkspace $fresh.FullName -Name ' ' -ErrorAction Stop } }
            'bad exclude' { "a`tb", { Add-WsyncWorkspace $fresh.FullName -Exclude "a`tb" -ErrorAction Stop } }
        }

        $record = $command | Should -Throw -ErrorId "$ErrorId,Wsync.Commands.AddWsyncWorkspace" -PassThru

        $record.CategoryInfo.Category | Should -Be $Category
        $record.TargetObject | Should -Be $target
        $record.Exception.Message | Should -Not -BeNullOrEmpty
        Get-Content -Raw $file | Should -Be $before
        (Get-WsyncWorkspace).Name | Should -Be 'taken'
    }

    It 'supports -WhatIf' {
        $directory = New-Item -ItemType Directory -Force (Join-Path $root 'whatif')
        Add-WsyncWorkspace $directory.FullName -WhatIf
        Get-WsyncWorkspace | Should -BeNullOrEmpty
    }
}

Describe 'Get-WsyncWorkspace' {
    BeforeAll {
        foreach ($name in 'web-front', 'web-back', 'tools') {
            $directory = New-Item -ItemType Directory -Force (Join-Path $root "get/$name")
            Add-WsyncWorkspace $directory.FullName | Out-Null
        }
    }

    AfterAll {
        Get-WsyncWorkspace | Remove-WsyncWorkspace -Confirm:$false
    }

    It 'lists every workspace, or those matching names and wildcards' {
        (Get-WsyncWorkspace).Name | Sort-Object | Should -Be @('tools', 'web-back', 'web-front')
        (Get-WsyncWorkspace 'web*').Name | Sort-Object | Should -Be @('web-back', 'web-front')
        (Get-WsyncWorkspace -Name TOOLS, 'web-f*').Name | Should -Be @('tools', 'web-front')
        Get-WsyncWorkspace 'nothing*' | Should -BeNullOrEmpty
    }

    It 'reports a name that matches nothing' {
        $record = { Get-WsyncWorkspace nope -ErrorAction Stop } | Should -Throw -ErrorId 'WorkspaceNotFound,Wsync.Commands.GetWsyncWorkspace' -PassThru
        $record.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $record.TargetObject | Should -Be 'nope'
    }

    It 'takes workspace objects from the pipeline' {
        (Get-WsyncWorkspace 'web*' | Get-WsyncWorkspace).Name | Sort-Object | Should -Be @('web-back', 'web-front')
    }
}

Describe 'Remove-WsyncWorkspace' {
    BeforeEach {
        $directory = New-Item -ItemType Directory -Force (Join-Path $root 'rm/web')
        Set-Content (Join-Path $directory 'keep.txt') 'data'
        Add-WsyncWorkspace $directory.FullName | Out-Null
    }

    AfterEach {
        Get-WsyncWorkspace | Remove-WsyncWorkspace -Confirm:$false
    }

    It 'removes by name, stops the monitor and leaves the files' {
        Wait-Until { (Get-WsyncWorkspace web).MonitorProcessId } -Because 'the monitor'
        $monitor = (Get-WsyncWorkspace web).MonitorProcessId

        $removed = Remove-WsyncWorkspace web -PassThru

        $removed.Name | Should -Be 'web'
        Get-WsyncWorkspace | Should -BeNullOrEmpty
        Wait-Until { -not (Test-ProcessAlive $monitor) } -Because 'the monitor to exit'
        Get-Content (Join-Path $root 'rm/web/keep.txt') | Should -Be 'data'
    }

    It 'removes what Get-WsyncWorkspace pipes to it' {
        Get-WsyncWorkspace web | Remove-WsyncWorkspace
        Get-WsyncWorkspace | Should -BeNullOrEmpty
    }

    It 'changes nothing with -WhatIf' {
        Remove-WsyncWorkspace web -WhatIf
        (Get-WsyncWorkspace).Name | Should -Be 'web'
    }

    It 'reports an unknown workspace' {
        { Remove-WsyncWorkspace nope -ErrorAction Stop } | Should -Throw -ErrorId 'WorkspaceNotFound,Wsync.Commands.RemoveWsyncWorkspace'
        (Get-WsyncWorkspace).Name | Should -Be 'web'
    }
}
