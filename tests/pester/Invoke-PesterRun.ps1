<#
.SYNOPSIS
    Runs Pester tests (every file under tests/pester, or those of -Path) and writes the counts as JSON for build.ps1.
#>
param(
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ResultPath,
    # Test files, comma-separated (a -File script gets each argument as one string).
    [string] $Path = $PSScriptRoot
)

$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force

$configuration = New-PesterConfiguration
$configuration.Run.Path = @($Path -split ',')
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Output.StackTraceVerbosity = 'Filtered'
$result = Invoke-Pester -Configuration $configuration

[pscustomobject]@{
    Passed  = $result.PassedCount
    Failed  = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped = $result.SkippedCount + $result.NotRunCount
    # Named again at the end of the whole run, where a CI log's tail shows them.
    FailedNames = @($result.Failed | ForEach-Object ExpandedPath) + @($result.FailedBlocks | ForEach-Object ExpandedPath) +
        @($result.FailedContainers | ForEach-Object { "$($_.Item)" })
} | ConvertTo-Json | Set-Content -Path $ResultPath
