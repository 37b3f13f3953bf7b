# The module as a user gets it: published to a (local folder) PSResource repository, installed with
# Install-PSResource into a fresh HOME, imported from there, mirroring a workspace; and its daemon and
# monitor running on a machine without .NET.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Join-Path '/tmp' ('wg-' + [guid]::NewGuid().ToString('n').Substring(0, 10))
    New-Item -ItemType Directory $root | Out-Null
    $moduleDirectory = Split-Path (Get-WsyncModulePath)
    $hostRuntime = 'linux-' + [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()
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
        $result.Daemon | Should -Be (Join-Path $result.ModuleBase "bin/$hostRuntime/wsyncd")
        Assert-Mirrored $workspace.FullName $mirror.FullName
    }
}

Describe 'The daemon and monitor on a machine without .NET' {
    It 'runs <Executable> with no dotnet on PATH and no DOTNET_ROOT' -ForEach @(
        @{ Executable = 'wsyncd' }
        @{ Executable = 'wsync-monitor' }
    ) {
        $path = Join-Path $moduleDirectory "bin/$hostRuntime/$Executable"
        # env -i: nothing inherited (no DOTNET_ROOT), and PATH is an empty directory, so no dotnet can be
        # found. A framework-dependent build would fail to start here.
        $emptyPath = New-Item -ItemType Directory -Force (Join-Path $root 'empty-path')
        $output = & env -i "PATH=$emptyPath" "HOME=$root" $path --version 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        ($output | Out-String) | Should -Match "^$Executable 0\.1\.0"
    }
}

Describe 'The linux-arm64 daemon and monitor, under qemu-user, without .NET' {
    BeforeDiscovery {
        Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
        # Built when the cross toolchain is on the machine (.ci/run installs it; build.ps1 Package requires it).
        $moduleDirectory = Split-Path (Get-WsyncModulePath)
        $arm64 = Join-Path $moduleDirectory 'bin/linux-arm64'
        $skipReason = if (-not (Test-Path (Join-Path $arm64 'wsyncd'))) {
            "no $arm64/wsyncd: this build has no linux-arm64 (apt-get install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user, then build again)"
        }
        elseif (-not (Get-Command qemu-aarch64 -CommandType Application -ErrorAction Ignore)) {
            'no qemu-aarch64 to run arm64 code on this machine (apt-get install qemu-user)'
        }
    }

    BeforeAll {
        Import-Module (Get-WsyncModulePath) -Force
        $arm64 = Join-Path $moduleDirectory 'bin/linux-arm64'
        $qemu = (Get-Command qemu-aarch64 -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
        # qemu-user runs arm64 code on this machine; -L points it at the arm64 C library of the cross toolchain.
        $emptyPath = New-Item -ItemType Directory -Force (Join-Path $root 'empty-path')
        $runArm64 = @($qemu, '-L', '/usr/aarch64-linux-gnu')
    }

    It 'runs <Executable> for arm64 with no dotnet on PATH and no DOTNET_ROOT' -Skip:([bool]$skipReason) -ForEach @(
        @{ Executable = 'wsyncd' }
        @{ Executable = 'wsync-monitor' }
    ) {
        $path = Join-Path $arm64 $Executable
        (& file -b $path) | Should -BeLike '*ARM aarch64*'
        $output = & env -i "PATH=$emptyPath" "HOME=$root" @runArm64 $path --version 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        ($output | Out-String) | Should -Match "^$Executable 0\.1\.0"
    }

    It 'starts the arm64 daemon, which answers the module on its socket and stops on request' -Skip:([bool]$skipReason) {
        $armHome = Join-Path $root 'arm64-home'
        $start = [System.Diagnostics.ProcessStartInfo]::new('env')
        foreach ($argument in @('-i', "PATH=$emptyPath", "HOME=$root") + $runArm64 + @((Join-Path $arm64 'wsyncd'), '--home', $armHome)) {
            $start.ArgumentList.Add($argument)
        }
        $start.RedirectStandardError = $true
        $daemon = [System.Diagnostics.Process]::Start($start)
        $previous = $env:WSYNC_HOME
        try {
            $env:WSYNC_HOME = $armHome
            Wait-Until -TimeoutSec 60 -Because 'the arm64 daemon to listen' { $daemon.HasExited -or (Get-WsyncDaemon).Running }
            if ($daemon.HasExited) {
                throw "The arm64 daemon exited with code $($daemon.ExitCode): $($daemon.StandardError.ReadToEnd())"
            }
            $info = Get-WsyncDaemon
            $info.ProcessId | Should -Be $daemon.Id -Because 'env and qemu-user exec in place: the pid is the daemon''s'
            $info.Version | Should -Be '0.1.0'
            Stop-WsyncDaemon -Confirm:$false
            $daemon.WaitForExit(30000) | Should -BeTrue
            $daemon.ExitCode | Should -Be 0
        }
        finally {
            $env:WSYNC_HOME = $previous
            if (-not $daemon.HasExited) { Stop-Process -Id $daemon.Id -Force -ErrorAction Ignore }
        }
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
