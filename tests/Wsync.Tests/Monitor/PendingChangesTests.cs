using Wsync.Monitor.Sync;
using Wsync.Monitor.Watching;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

public sealed class PendingChangesTests
{
    private static Dictionary<string, PendingKind> Entries(Batch batch) => batch.Entries.ToDictionary(e => e.Path, e => e.Kind);

    [Fact]
    public void Changes_to_one_path_coalesce_and_a_tree_wins()
    {
        var pending = new PendingChanges();

        pending.Add([Change.OfPath("a"), Change.OfPath("a"), Change.OfPath("d"), Change.OfTree("d"), Change.OfPath("d")]);

        Assert.Equal(new Dictionary<string, PendingKind> { ["a"] = PendingKind.Path, ["d"] = PendingKind.Tree }, Entries(pending.Take()));
        Assert.True(pending.IsEmpty);
    }

    [Fact]
    public void A_tree_covers_every_path_below_it_whenever_it_comes()
    {
        var pending = new PendingChanges();

        pending.Add([Change.OfPath("d/x"), Change.OfPath("d/e/y"), Change.OfPath("dd/z"), Change.OfTree("d"), Change.OfPath("d/later")]);

        Assert.Equal(["d", "dd/z"], pending.Take().Entries.Select(e => e.Path));
    }

    [Fact]
    public void A_rename_moves_what_waited_under_the_old_name_and_checks_both_names()
    {
        var pending = new PendingChanges();
        var generation = pending.Add([Change.OfPath("old/a"), Change.OfPath("other")]);
        pending.Take();
        pending.Add([Change.OfPath("old/b"), Change.OfMove("old", "new", isDirectory: true)]);

        var batch = pending.Take();

        Assert.Equal([new PendingMove("old", "new", true)], batch.Moves);
        Assert.Equal(new Dictionary<string, PendingKind> { ["old"] = PendingKind.Path, ["new"] = PendingKind.Tree }, Entries(batch));
        Assert.True(batch.Generation > generation);
    }

    [Fact]
    public void A_full_reconcile_absorbs_everything_and_past_the_bound_the_set_collapses_to_one()
    {
        var bounded = new PendingChanges(maxPaths: 10);
        bounded.Add([.. Enumerable.Range(0, 11).Select(i => Change.OfPath($"f{i}"))]);

        var batch = bounded.Take();

        Assert.True(batch.FullReconcile);
        Assert.Empty(batch.Entries);

        var pending = new PendingChanges();
        pending.Add([Change.OfPath("a")]);
        pending.RequestFullReconcile();
        pending.Add([Change.OfPath("b")]);
        Assert.Equal(1, pending.Count);
        Assert.True(pending.Take().FullReconcile);
    }

    [Fact]
    public void A_failed_batch_goes_back_without_replaying_its_renames()
    {
        var pending = new PendingChanges();
        pending.Add([Change.OfPath("x"), Change.OfMove("a", "b", isDirectory: false)]);
        var failed = pending.Take();
        pending.Add([Change.OfPath("y")]);

        pending.Requeue(failed);
        var retry = pending.Take();

        Assert.Empty(retry.Moves);
        Assert.Equal(["a", "b", "x", "y"], retry.Entries.Select(e => e.Path));
    }

    [Fact]
    public void Every_change_advances_the_generation()
    {
        var pending = new PendingChanges();
        var first = pending.Add([Change.OfPath("a")]);
        var second = pending.Add([Change.OfPath("a")]);
        var full = pending.RequestFullReconcile();

        Assert.True(first < second && second < full);
        Assert.Equal(full, pending.Take().Generation);
    }

    [Fact]
    public void A_new_tree_waits_for_quiet_while_edits_of_files_never_wait()
    {
        var pending = new PendingChanges();
        pending.Add([Change.OfPath("a.txt")]);
        Assert.Equal(TimeSpan.Zero, pending.SettleDelay());

        pending.Add([Change.OfTree("unpacked")]);
        var delay = pending.SettleDelay();
        Assert.InRange(delay, TimeSpan.FromTicks(1), PendingChanges.TreeQuiet);

        // Quiet for longer than TreeQuiet: the tree goes; polled, since the point is the clock.
        Poll.Until(() => pending.SettleDelay() == TimeSpan.Zero, TimeSpan.FromSeconds(5), "the settle delay to pass");
        pending.Take();
        pending.Add([Change.OfPath("b.txt")]);
        Assert.Equal(TimeSpan.Zero, pending.SettleDelay());
    }

    [Fact]
    public void While_a_new_tree_settles_what_lies_clear_of_it_is_taken_alone()
    {
        var pending = new PendingChanges();
        pending.Add([Change.OfTree("unpacked"), Change.OfPath("unpacked/a"), Change.OfPath(""), Change.OfPath("notes.txt"), Change.OfPath("src/main.c"),
            Change.OfPath("deep"), Change.OfTree("deep/er")]);

        // Clear of every tree: neither in one ("unpacked/a") nor above one (the root, "deep").
        var early = pending.TakeOutsideTrees();
        Assert.Equal(["notes.txt", "src/main.c"], early.Entries.Select(e => e.Path));
        Assert.Equal(new Dictionary<string, PendingKind> { [""] = PendingKind.Path, ["deep"] = PendingKind.Path, ["deep/er"] = PendingKind.Tree, ["unpacked"] = PendingKind.Tree },
            Entries(pending.Take()));

        // A rename waiting goes whole, in order: nothing is taken apart from it.
        pending.Add([Change.OfTree("unpacked"), Change.OfPath("notes.txt"), Change.OfMove("x", "y", isDirectory: false)]);
        Assert.True(pending.TakeOutsideTrees().IsEmpty);
        var whole = pending.Take();
        Assert.Single(whole.Moves);
        Assert.Contains(("notes.txt", PendingKind.Path), whole.Entries);
    }
}
