using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// What Kestrel sees of a connection accepted by the lean transport while it speaks HTTP: the socket's reader and
/// writer as its transport pipe, the end points, the closed token, and the hand-over (<see cref="IEpollHandOverFeature"/>)
/// after which Kestrel's views are cut off and ending the connection no longer touches the socket.
/// </summary>
internal sealed class EpollConnection : ConnectionContext, IDuplexPipe, IConnectionIdFeature, IConnectionTransportFeature,
    IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature, IEpollHandOverFeature, IThreadPoolWorkItem
{
    private static long s_lastId;

    private readonly EpollSocket _socket;
    private readonly EpollSocketReader _reader;
    private readonly EpollSocketWriter _writer;
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new();
    private IDuplexPipe _transport;
    private IDictionary<object, object?>? _items;
    private string? _id;
    private int _handedOver;
    private int _closing;

    public EpollConnection(EpollSocket socket, EndPoint? localEndPoint, EndPoint? remoteEndPoint)
    {
        _socket = socket;
        _reader = new EpollSocketReader(socket, new EpollSocketView(static state => ((EpollConnection)state!).OnKestrelDone(), this));
        _writer = new EpollSocketWriter(socket, new EpollSocketView(static state => ((EpollConnection)state!).OnKestrelDone(), this));
        _transport = this;
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _features.Set<IEpollHandOverFeature>(this);
        socket.OnInputEnded(this); // the peer ended the input during the HTTP phase: Execute fires the closed token
    }

    public override string ConnectionId
    {
        get => _id ??= "L" + Interlocked.Increment(ref s_lastId).ToString("X11", System.Globalization.CultureInfo.InvariantCulture);
        set => _id = value;
    }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport
    {
        get => _transport;
        set => _transport = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException();
    }

    PipeReader IDuplexPipe.Input => _reader;

    PipeWriter IDuplexPipe.Output => _writer;

    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Volatile.Read(ref _handedOver) == 0)
        {
            _socket.Abort();
        }

        FireClosed();
    }

    public EpollSocket? HandOver()
    {
        if (Interlocked.Exchange(ref _handedOver, 1) != 0 || _socket.Descriptor < 0)
        {
            return null;
        }

        _socket.OnInputEnded(null);
        _socket.DropReadWaiter();
        _reader.CutOff();
        _writer.CutOff();
        return _socket;
    }

    public override async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _handedOver) == 0)
        {
            _socket.Close(abortive: false);
        }

        FireClosed();
        await ValueTask.CompletedTask.ConfigureAwait(false);
        _closed.Dispose();
    }

    /// <summary>Kestrel completed its reader or writer: once both, send what is queued, FIN, and close.</summary>
    private void OnKestrelDone()
    {
        if (!_reader.IsCompleted || !_writer.IsCompleted || Volatile.Read(ref _handedOver) != 0 || Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _ = CloseAsync();
    }

    private async Task CloseAsync()
    {
        try
        {
            await _socket.ShutdownOutputAsync().ConfigureAwait(false);
        }
        finally
        {
            _socket.Close(abortive: false);
            FireClosed();
        }
    }

    /// <summary>Queued by the socket when the peer ends the input during the HTTP phase.</summary>
    void IThreadPoolWorkItem.Execute() => FireClosed();

    private void FireClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed already: Kestrel is done with the connection.
        }
    }
}
