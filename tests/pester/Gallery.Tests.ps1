# The module as a user gets it: published to a (local folder) PSResource repository, installed with
# Install-PSResource into a fresh HOME, imported from there, mirroring a workspace; and its daemon and
# monitor running on a machine without .NET.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Join-Path '/tmp' ('wg-' + [guid]::NewGuid().ToString('n').Substring(0, 10))
    New-Item -ItemType Directory $root | Out-Null
    $moduleDirectory = Split-Path (Get-WsyncModulePath)
}

AfterAll {
    Remove-Item -Recurse -Force $root -ErrorAction Ignore
}

Describe 'Installing wsync from a PSResource repository' {
    It 'publishes, installs into a fresh HOME, imports the installed copy and mirrors a workspace with it' {
        $repository = New-Item -ItemType Directory (Join-Path $root 'repository')
        $userHome = New-Item -ItemType Directory (Join-Path $root 'home')
        $workspace = New-Item -ItemType Directory (Join-Path $root 'project')
        Set-Content (Join-Path $workspace 'main.c') 'int main(void) { return 0; }'
        $mirror = New-Item -ItemType Directory (Join-Path $root 'mirror')
        # A fresh pwsh, as a user's would be: PSResourceGet keeps its repositories under HOME.
        $script = @'
param($Repository, $Module, $Workspace, $Mirror)
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name wsync-test -Uri $Repository -Trusted
Publish-PSResource -Path $Module -Repository wsync-test
Install-PSResource wsync -Repository wsync-test -Scope CurrentUser -TrustRepository
$installed = Import-Module wsync -PassThru
try {
    Add-WsyncWorkspace $Workspace | Connect-WsyncRemote -Destination $Mirror | Out-Null
    Wait-WsyncWorkspace project -TimeoutSec 60 | Out-Null
    [pscustomobject]@{ ModuleBase = $installed.ModuleBase; Daemon = (Get-Process -Id (Get-WsyncDaemon).ProcessId).Path } | ConvertTo-Json -Compress
}
finally {
    Stop-WsyncDaemon -Confirm:$false
}
'@
        $scriptPath = Join-Path $root 'install.ps1'
        Set-Content $scriptPath $script
        $previous = $env:HOME, $env:WSYNC_HOME
        try {
            $env:HOME = $userHome.FullName
            $env:WSYNC_HOME = Join-Path $userHome '.wsync'
            $output = Invoke-Pwsh -NoProfile -File $scriptPath $repository.FullName $moduleDirectory $workspace.FullName $mirror.FullName 2>&1
        }
        finally {
            $env:HOME, $env:WSYNC_HOME = $previous
        }

        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        @(Get-ChildItem $repository -Filter 'wsync.*.nupkg').Count | Should -Be 1
        $result = ($output | Select-Object -Last 1) | ConvertFrom-Json
        $result.ModuleBase | Should -BeLike "$($userHome.FullName)/*" -Because 'the installed copy, not the build output, was imported'
        $result.Daemon | Should -Be (Join-Path $result.ModuleBase 'bin/wsyncd')
        Assert-Mirrored $workspace.FullName $mirror.FullName
    }
}

Describe 'The daemon and monitor on a machine without .NET' {
    It 'runs <Executable> with no dotnet on PATH and no DOTNET_ROOT' -ForEach @(
        @{ Executable = 'wsyncd' }
        @{ Executable = 'wsync-monitor' }
    ) {
        $path = Join-Path $moduleDirectory "bin/$Executable"
        # env -i: nothing inherited (no DOTNET_ROOT), and PATH is an empty directory, so no dotnet can be
        # found. A framework-dependent build would fail to start here.
        $emptyPath = New-Item -ItemType Directory -Force (Join-Path $root 'empty-path')
        $output = & env -i "PATH=$emptyPath" "HOME=$root" $path --version 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        ($output | Out-String) | Should -Match "^$Executable 0\.1\.0"
    }
}

Describe 'Beside another module with its own StreamJsonRpc' {
    It 'works when a different StreamJsonRpc version is already loaded in pwsh' {
        # tests/OtherRpc stands for another module: it brings StreamJsonRpc 2.25 (wsync carries 2.26).
        $project = Join-Path $PSScriptRoot '../OtherRpc'
        & dotnet build $project -c Release --nologo -v quiet | Out-Null
        $LASTEXITCODE | Should -Be 0
        $other = Join-Path $project 'bin/Release/net10.0/StreamJsonRpc.dll'
        $script = @'
param($Other, $Module)
$ErrorActionPreference = 'Stop'
Add-Type -Path $Other
Import-Module $Module
Get-WsyncWorkspace | Out-Null
$versions = [System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'StreamJsonRpc' } |
    ForEach-Object { '{0}@{1}' -f $_.GetName().Version, [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }
Stop-WsyncDaemon -Confirm:$false
$versions -join ','
'@
        $scriptPath = Join-Path $root 'side-by-side.ps1'
        Set-Content $scriptPath $script
        $previous = $env:WSYNC_HOME
        try {
            $env:WSYNC_HOME = Join-Path $root 'side-by-side-home'
            $output = Invoke-Pwsh -NoProfile -File $scriptPath $other (Get-WsyncModulePath) 2>&1
        }
        finally {
            $env:WSYNC_HOME = $previous
        }

        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        $loaded = ($output | Select-Object -Last 1) -split ','
        $loaded | Should -HaveCount 2
        $loaded | Should -Contain '2.25.0.0@Default'
        @($loaded | Where-Object { $_ -like '2.26.*@wsync' }) | Should -HaveCount 1
    }
}
