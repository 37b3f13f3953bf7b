namespace Wsync.Monitor.Sync;

/// <summary>
/// Every rsync command line of one remote, built in one place: the options all transfers share, and what
/// each kind of run adds. An argument vector, never a shell. Paths that are not UTF-8 never go in here (a
/// process argument is UTF-8): they travel in a --files-from list on stdin, which is bytes.
/// </summary>
/// <param name="root">The workspace root.</param>
/// <param name="destination">The rsync operand of the mirror's root, ending in '/'.</param>
/// <param name="transport">Options that choose the transport (-e "ssh …" over the ControlMaster), or none.</param>
/// <param name="filterFile">The workspace's filter rules as a merge file, or null when it has none.</param>
internal sealed class RsyncCommand(string root, string destination, IReadOnlyList<string> transport, Func<string?> filterFile)
{
    /// <summary>rsync's I/O timeout: a connection silent this long fails (exit 30) rather than hanging.</summary>
    public const int IoTimeoutSeconds = 60;

    /// <summary>
    /// The options every transfer shares: recurse, links as links, permissions, times; mirror deletions. Holes
    /// (<see cref="Sparse"/>) are asked for where a file may have them. Not -H: rsync links only names one run
    /// sees together, so incremental batches would link some names and copy others; every name is its own file
    /// on a remote instead (see TreeWatcher.NoteInPlaceChange).
    /// </summary>
    public static IReadOnlyList<string> Common { get; } =
    [
        "-rlpt",
        "--delete",
        "--force",
        "-s", // --secluded-args (--protect-args before 3.2.4): file names never meet the remote shell
        "--modify-window=-1", // compare nanoseconds: the default quick check sees only whole seconds
        $"--timeout={IoTimeoutSeconds}",
        "--stats",
    ];

    /// <summary>
    /// --sparse: holes stay holes (a 64 MB sparse file does not take 64 MB on the remote). It costs where there are
    /// none: the receiver looks for zeros in every block it writes, and 1 MB changed in a 2 GB file took 1.2 s
    /// longer with it (rsync 3.5.0, this repository's 2-core machine). So a list of files has it only when one
    /// of them has holes; trees and full reconciles, whose files are not looked at first, always.
    /// </summary>
    public const string Sparse = "-S";

    private string Source => root.TrimEnd('/') + "/";

    /// <summary>
    /// A full reconcile. Incremental recursion (rsync's default) overlaps scanning and sending; the progress
    /// total grows as the scan goes ("ir-chk") instead of being known up front, the price of starting at once.
    /// </summary>
    public List<string> Full() => [.. Common, Sparse, "--info=progress2", .. Filter(), .. transport, "--", Source, destination];

    /// <summary>
    /// A batch listed on stdin (--files-from, NUL-separated), a vanished path deleted. Files alone are compared
    /// by content (--ignore-times: a rewrite with the same size and time passes the quick check) and a listed
    /// directory stands for its own attributes (--dirs, no recursion); with trees, listed directories recurse.
    /// </summary>
    /// <param name="filesOnly">Whether the list names no tree.</param>
    /// <param name="sparse">Whether a listed file may have holes (always true with trees).</param>
    public List<string> Listed(bool filesOnly, bool sparse) =>
    [
        .. Common, .. sparse || !filesOnly ? [Sparse] : Array.Empty<string>(), "--files-from=-", "--from0", "--delete-missing-args",
        .. filesOnly ? ["--ignore-times", "--no-recursive", "--dirs"] : Array.Empty<string>(),
        .. Filter(), .. transport, "--", Source, destination,
    ];

    /// <summary>
    /// A batch with trees, its paths named as operands (<c>root/./path</c>, with -R) rather than listed: the
    /// result is the same, but rsync's incremental recursion then overlaps scanning and sending, and a
    /// --files-from transfer of a 10,000-file tree took 17% longer (rsync 3.5.0, local tmpfs, eight runs each).
    /// </summary>
    public List<string> Operands(IEnumerable<string> paths) =>
        [.. Common, Sparse, "--relative", "--delete-missing-args", .. Filter(), .. transport, "--", .. paths.Select(p => Source + "./" + p), destination];

    /// <summary>The flag self-test: an empty source's list naming one path into a scratch directory, which must delete it there.</summary>
    public List<string> SelfTest(string emptySource, string scratch) =>
        [.. Common, "--files-from=-", "--from0", "--delete-missing-args", .. transport, "--", emptySource.TrimEnd('/') + "/", scratch];

    private IEnumerable<string> Filter() => filterFile() is { } rules ? [$"--filter=. {rules}"] : [];
}
