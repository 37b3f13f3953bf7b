using Microsoft.Extensions.Time.Testing;
using Wsync.Daemon;

namespace Wsync.Tests.Daemon;

/// <summary>The supervision's crash accounting on a clock advanced by hand: when a monitor is left Failed, and when not.</summary>
public sealed class CrashBudgetTests
{
    private readonly FakeTimeProvider clock = new();
    private readonly CrashBudget budget;

    public CrashBudgetTests()
    {
        budget = new CrashBudget(new SupervisionPolicy { CrashThreshold = 3, CrashWindow = TimeSpan.FromMinutes(10) }, clock);
    }

    [Fact]
    public void The_threshold_of_crashes_within_the_window_spends_it()
    {
        Assert.False(budget.Spend());
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.False(budget.Spend());
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.True(budget.Spend());
        Assert.Equal(3, budget.Recent);
    }

    [Fact]
    public void Crashes_older_than_the_window_are_forgiven()
    {
        budget.Spend();
        budget.Spend();
        clock.Advance(TimeSpan.FromMinutes(11));

        Assert.False(budget.Spend());
        Assert.Equal(1, budget.Recent);
    }

    [Fact]
    public void Resume_restores_the_whole_budget_and_the_restart_delay_follows_the_recent_crashes()
    {
        budget.Spend();
        budget.Spend();
        Assert.Equal(TimeSpan.FromMilliseconds(400), Backoff.MonitorRestart.After(budget.Recent));

        budget.Reset();

        Assert.Equal(0, budget.Recent);
        Assert.False(budget.Spend());
        Assert.False(budget.Spend());
        Assert.Equal(TimeSpan.FromSeconds(10), Backoff.MonitorRestart.After(20));
    }
}
