using Wsync.Platform;

namespace Wsync.Transfer;

/// <summary>
/// A <see cref="FrameKind.Drift"/> frame: a path under the agent's root that changed by someone else's hand,
/// and what lstat says is there now (kind, permission bits, size, modification time, link target), or that
/// events were lost (the watch's queue overflowed: anything may have changed). The monitor compares it with
/// the workspace; rsync's and the agent's own writes match the workspace, anyone else's do not.
/// </summary>
public readonly record struct DriftEntry(string Path, bool EventsLost, FileKind Kind, uint Mode, long Size, long Seconds, uint Nanoseconds, string Target)
{
    /// <summary>Events were lost under the root: only a full comparison (rsync's) can tell what changed.</summary>
    public static DriftEntry Lost { get; } = new("", true, FileKind.Missing, 0, 0, 0, 0, "");

    /// <summary>What <paramref name="path"/> is under <paramref name="root"/> now; missing when it cannot be reached without a symlink.</summary>
    public static DriftEntry Of(ConfinedRoot root, string path)
    {
        FileStatus status;
        string? target = null;
        try
        {
            status = root.Status(path);
            if (status.Kind == FileKind.SymbolicLink)
            {
                target = root.ReadLink(path);
            }
        }
        catch (IOException)
        {
            status = FileStatus.Missing; // a directory on the way became a link: what was there is gone
        }

        return new DriftEntry(path, false, status.Kind, status.Mode, status.Size, status.ModifiedSeconds, status.ModifiedNanoseconds, target ?? "");
    }

    public void WriteTo(FrameWriter writer) => writer.Begin(FrameKind.Drift).Path(Path).U8(EventsLost ? (byte)1 : (byte)0).U8((byte)Kind)
        .U32(Mode).I64(Size).I64(Seconds).U32(Nanoseconds).Path(Target).End();

    /// <exception cref="FrameException">The frame is malformed, or names a kind of file that does not exist.</exception>
    public static DriftEntry Read(Frame frame)
    {
        var fields = frame.Fields;
        var path = fields.Path();
        var lost = fields.U8() != 0;
        var kind = fields.U8();
        var entry = new DriftEntry(path, lost, (FileKind)kind, fields.U32(), fields.I64(), fields.I64(), fields.U32(), fields.Path());
        fields.End();
        return kind <= (byte)FileKind.Other ? entry : throw new FrameException($"A Drift frame names file kind {kind}");
    }
}
