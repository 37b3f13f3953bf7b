# Get-Help for every exported cmdlet comes from the module's MAML (en-US/Wsync.Commands.dll-Help.xml), and
# agrees with the cmdlets as they really are; about_wsync is found. No daemon is needed or started.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $module = Import-Module (Get-WsyncModulePath) -Force -Global -PassThru
    $cmdlets = @($module.ExportedCmdlets.Keys | Sort-Object)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $module = Import-Module (Get-WsyncModulePath) -Force -Global -PassThru
    # Parameters every cmdlet gets from PowerShell; WhatIf and Confirm come with SupportsShouldProcess.
    $commonParameters = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters

    function Get-Text($Value) {
        # Help text arrives as one or more objects with a Text property (paragraphs).
        (@($Value) | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join "`n"
    }
}

Describe 'The help files' {
    It 'are in the module''s en-US folder, named after the cmdlet assembly' {
        Test-Path -LiteralPath (Join-Path $module.ModuleBase 'en-US/Wsync.Commands.dll-Help.xml') | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $module.ModuleBase 'en-US/about_wsync.help.txt') | Should -BeTrue
        $xml = [xml](Get-Content -Raw (Join-Path $module.ModuleBase 'en-US/Wsync.Commands.dll-Help.xml'))
        $xml.helpItems.command.details.name | Sort-Object | Should -Be ($module.ExportedCmdlets.Keys | Sort-Object)
    }

    It 'has an about_wsync topic on workspaces, remotes, states, configuration and troubleshooting' {
        $topic = Get-Help about_wsync | Out-String
        $topic | Should -Match 'about_wsync'
        foreach ($needed in 'WORKSPACES', 'REMOTES', 'Watching', 'Halted', 'Failed', 'InitialSync', 'InSync', 'Retrying',
            'MonitorCrashThreshold', 'MonitorCrashWindowSeconds', 'WorkspaceConfigFilePath', 'LogDirectory',
            'max_user_watches', 'HostKeyUnknown', 'Resume-WsyncWorkspace') {
            $topic | Should -BeLike "*$needed*" -Because "about_wsync should cover $needed"
        }
    }
}

Describe 'Get-Help <_> -Full' -ForEach $cmdlets {
    BeforeAll {
        $name = $_
        $command = Get-Command $name
        $help = Get-Help $name -Full
        $helpParameters = @($help.parameters.parameter | Where-Object { $_ }) # none: Get-Help gives an empty string
    }

    It 'has a synopsis and a description of its own' {
        # Without MAML, PowerShell makes the synopsis from the syntax and leaves the description empty.
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -BeLike "$name *"
        Get-Text $help.description | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter the cmdlet has, as its attributes declare it' {
        $real = $command.Parameters.Values | Where-Object Name -NotIn $commonParameters
        foreach ($parameter in $real) {
            $documented = $helpParameters | Where-Object name -EQ $parameter.Name
            $documented | Should -Not -BeNullOrEmpty -Because "-$($parameter.Name) must be documented"
            Get-Text $documented.description | Should -Not -BeNullOrEmpty -Because "-$($parameter.Name) needs a description"

            $set = @($parameter.ParameterSets.Values)[0]
            $documented.required | Should -Be ([string]$set.IsMandatory).ToLowerInvariant() -Because "-$($parameter.Name) required"
            $position = if ($set.Position -ge 0) { [string]$set.Position } else { 'named' }
            $documented.position | Should -Be $position -Because "-$($parameter.Name) position"
            $pipeline = @(if ($set.ValueFromPipelineByPropertyName) { 'ByPropertyName' }; if ($set.ValueFromPipeline) { 'ByValue' })
            $expectedPipeline = if ($pipeline.Count -eq 0) { 'False' } else { "True ($($pipeline -join ', '))" }
            $documented.pipelineInput | Should -Be $expectedPipeline -Because "-$($parameter.Name) pipeline input"
            $documented.type.name | Should -Be $parameter.ParameterType.FullName -Because "-$($parameter.Name) type"
            $wildcards = [bool]($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
            $documented.globbing | Should -Be ([string]$wildcards).ToLowerInvariant() -Because "-$($parameter.Name) wildcards"
            $aliases = if ($parameter.Aliases.Count -gt 0) { $parameter.Aliases -join ', ' } else { 'none' }
            $documented.aliases | Should -Be $aliases -Because "-$($parameter.Name) aliases"
        }
    }

    It 'documents no parameter the cmdlet does not have' {
        foreach ($documented in $helpParameters) {
            $command.Parameters.Keys | Should -Contain $documented.name
        }
    }

    It 'has at least two examples, each with code and a remark, calling wsync cmdlets with their real parameters' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($example in $examples) {
            $example.code | Should -Not -BeNullOrEmpty
            Get-Text $example.remarks | Should -Not -BeNullOrEmpty

            $tokens = $errors = $null
            $ast = [System.Management.Automation.Language.Parser]::ParseInput($example.code, [ref]$tokens, [ref]$errors)
            $errors | Should -BeNullOrEmpty -Because "the example '$($example.code)' must parse"
            $calls = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true) |
                Where-Object { $_.GetCommandName() -like '*-Wsync*' }
            foreach ($call in $calls) {
                $called = Get-Command $call.GetCommandName() -Module wsync -ErrorAction Ignore
                $called | Should -Not -BeNullOrEmpty -Because "$($call.GetCommandName()) in an example must be a wsync cmdlet"
                $names = $called.Parameters.Keys + @($called.Parameters.Values.Aliases)
                foreach ($used in $call.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] }) {
                    $names | Should -Contain $used.ParameterName -Because "'$($call.Extent.Text)' must use real parameters"
                }
            }
        }
    }
}
