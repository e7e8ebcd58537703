using System.Runtime.InteropServices;

namespace AspNetWebSockets.Compression;

/// <summary>
/// The zlib entry points that ship with the .NET runtime (libSystem.IO.Compression.Native, zlib-ng inside), called
/// directly. System.IO.Compression's <c>DeflateStream</c> cannot choose the window size (RFC 7692 negotiates 9–15 bits)
/// and needs a new stream — a new native state — whenever context must not be taken over; .NET 10 has no span-based
/// deflate encoder. These functions take raw windowBits (negative = raw deflate, as permessage-deflate needs) and
/// let one state be reused message after message. They are the same ones the runtime's own WebSocket uses.
/// </summary>
internal static partial class ZLibNative
{
    private const string Library = "libSystem.IO.Compression.Native";

    public const int Ok = 0;
    public const int StreamEnd = 1;
    public const int BufError = -5;
    public const int NoFlush = 0;
    public const int SyncFlush = 2;
    public const int Deflated = 8;
    public const int DefaultStrategy = 0;

    /// <summary>The runtime's PAL_ZStream: the native shim copies it into a real z_stream on each call, so it may move between calls.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ZStream
    {
        public nint NextIn;
        public nint NextOut;
        public nint Message;
        public nint InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateInit2_")]
    public static partial int DeflateInit2(ref ZStream stream, int level, int method, int windowBits, int memLevel, int strategy);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Deflate")]
    public static partial int Deflate(ref ZStream stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateEnd")]
    public static partial int DeflateEnd(ref ZStream stream);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
    public static partial int InflateInit2(ref ZStream stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
    public static partial int Inflate(ref ZStream stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
    public static partial int InflateEnd(ref ZStream stream);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateReset2_")]
    public static partial int InflateReset2(ref ZStream stream, int windowBits);
}
