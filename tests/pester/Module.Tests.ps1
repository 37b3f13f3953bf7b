BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $root = Initialize-WsyncTest
    $manifestPath = Get-WsyncModulePath
}

AfterAll {
    Clear-WsyncTest $root
}

Describe 'The wsync module' {
    It 'has a valid manifest that exports exactly its cmdlets' {
        $manifest = Test-ModuleManifest $manifestPath
        $manifest.Name | Should -Be 'wsync'
        $exported = (Get-Module wsync).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be ($manifest.ExportedCmdlets.Keys | Sort-Object)
        $exported | Should -Contain 'Connect-WsyncRemote'
    }

    It 'loads StreamJsonRpc in a context of its own, never the default one' {
        Get-WsyncWorkspace | Out-Null
        $contexts = [System.Runtime.Loader.AssemblyLoadContext]::All
        $mine = $contexts | Where-Object Name -EQ 'wsync'
        $mine | Should -HaveCount 1
        $mine.Assemblies.GetName().Name | Should -Contain 'StreamJsonRpc'
        $mine.Assemblies.GetName().Name | Should -Contain 'Wsync.Engine'
        [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies.GetName().Name | Should -Not -Contain 'StreamJsonRpc'
        [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies.GetName().Name | Should -Contain 'Wsync.Protocol'
    }

    It 'carries the daemon and the monitor inside it' {
        # One folder per architecture; the module starts the one of this machine.
        $bin = Join-Path (Split-Path $manifestPath) ('bin/linux-' + [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant())
        Test-Path (Join-Path $bin 'wsyncd') | Should -BeTrue
        Test-Path (Join-Path $bin 'wsync-monitor') | Should -BeTrue
        (Get-WsyncDaemon).ProcessId | Should -BeGreaterThan 0
        (Get-Process -Id (Get-WsyncDaemon).ProcessId).Path | Should -Be (Join-Path $bin 'wsyncd')
    }
}
