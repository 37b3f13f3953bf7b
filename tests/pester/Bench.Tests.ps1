# The benchmark is not a test, but its smoke mode is: every scenario once at tiny size, so the harness
# cannot rot. Figures from a smoke run mean nothing; that it runs, reports and cleans up does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'WsyncTestHelpers.psm1') -Force
    $output = Join-Path '/tmp' ('wb-' + [guid]::NewGuid().ToString('n').Substring(0, 10))
    $repository = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $asRoot = (id -u) -eq '0' # the bench makes its accounts (a bash one among them) only as root
    $before = @(Get-ChildItem /tmp -Filter 'wsync-bench-*' -Directory -ErrorAction Ignore).Name
    $log = & (Join-Path $repository 'tests/bench/Invoke-Benchmark.ps1') -ModulePath (Get-WsyncModulePath) -Smoke -OutputDirectory $output *>&1 | Out-String
    $report = Get-Content -Raw (Join-Path $output 'latest.md') -ErrorAction Ignore
}

AfterAll {
    Remove-Item -Recurse -Force $output -ErrorAction Ignore
}

Describe 'build.ps1 Bench in smoke mode' {
    It 'runs scenario <Scenario> and reports its figures' -ForEach @(
        @{ Scenario = '1. Single-edit latency'; Figure = 'latency' }
        @{ Scenario = '2. Burst (tarball extracted)'; Figure = 'until identical' }
        @{ Scenario = '3. Rename a large directory'; Figure = 'sent to the remote' }
        @{ Scenario = '4. Large tree'; Figure = 'attach to InSync' }
        @{ Scenario = '5. Idle'; Figure = 'CPU over' }
        @{ Scenario = '6. Fan-out'; Figure = 'latency, last remote' }
        @{ Scenario = '7. Control plane'; Figure = 'Get-WsyncWorkspace round trip' }
        @{ Scenario = '8. Edits at 10 and 20 per second'; Figure = 'CPU per edit at 20/s' }
        @{ Scenario = '9. Drift undone'; Figure = 'remote edit to workspace content back' }
        @{ Scenario = '10. Small edits during a large transfer'; Figure = 'latency' }
        @{ Scenario = '11. A million files'; Figure = 'overflow: back to InSync' }
        @{ Scenario = '12. A large file changed in place'; Figure = 'bytes sent to the remote' }
        @{ Scenario = '13. Many workspaces'; Figure = 'daemon restart to every remote InSync' }
    ) {
        $report | Should -Not -BeNullOrEmpty -Because "the harness should have written a report; it said:`n$log"
        $rows = @($report -split "`n" | Where-Object { $_ -like "| $Scenario | $Figure*" })
        $rows.Count | Should -BeGreaterThan 0
        ($rows -join "`n") | Should -Not -Match '\| n/a' -Because 'every contender of every figure has a measurement'
    }

    It 'measures every contender side by side: wsync through its agent and with -Transport Rsync (also for a bash account, as root), tuned and default lsyncd, one-shot rsync' {
        $contenders = @('wsync', 'wsync, -Transport Rsync', 'lsyncd (delay=0, ControlMaster)', 'lsyncd (defaults)', 'one-shot rsync -a')
        if ($asRoot) {
            $contenders += 'wsync, bash account (100 ms .bashrc)', 'wsync, -Transport Rsync, bash account (100 ms .bashrc)'
        }
        foreach ($contender in $contenders) {
            $report | Should -BeLike "*| 1. Single-edit latency | latency | $contender |*"
        }
    }

    It 'checks every goal of the issue' {
        # The bash account's goal needs root, which makes the account.
        @($report -split "`n" | Where-Object { $_ -match '\| (yes|\*\*no\*\*) \|$' }).Count | Should -Be ($asRoot ? 39 : 38)
    }

    It 'plots the latency distributions as a PNG' {
        $png = [System.IO.File]::ReadAllBytes((Join-Path $output 'latency.png'))
        $png.Length | Should -BeGreaterThan 1000
        [System.Text.Encoding]::ASCII.GetString($png, 1, 3) | Should -Be 'PNG'
    }

    It 'stops what it started and removes what it created' {
        @(Get-ChildItem /tmp -Filter 'wsync-bench-*' -Directory -ErrorAction Ignore).Name | Where-Object { $_ -notin $before } | Should -BeNullOrEmpty
        @(Get-Content /proc/mounts) -match ' /tmp/wsync-bench-' | Should -BeNullOrEmpty -Because 'the tmpfs the harness mounted is unmounted'
        $leftovers = foreach ($cmdline in Get-ChildItem /proc/*/cmdline -ErrorAction Ignore) {
            $text = try { [System.IO.File]::ReadAllText($cmdline.FullName) } catch { '' }
            if ($text -match '/tmp/wsync-bench-') { $text -replace "`0", ' ' }
        }
        $leftovers | Should -BeNullOrEmpty
        if ((& id -u) -eq '0') {
            & id -u wsync-bench 2>$null
            $LASTEXITCODE | Should -Not -Be 0 -Because 'the bench account is removed after the run'
        }
    }
}
