using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// The WebSocket settings exist only on the builder <c>MapWebSocket</c> returns, so <c>app.MapGet(...).WithMaxMessageSize(5)</c>
/// no longer compiles (it used to compile and silently do nothing), while every general convention still chains.
/// </summary>
public sealed class WebSocketEndpointConventionBuilderTests
{
    private static readonly string[] WebSocketSettings = ["WithSubProtocols", "RequireSubProtocol", "WithMaxMessageSize", "WithCompression"];

    [Fact]
    public void No_WebSocket_setting_extends_other_endpoint_builders()
    {
        IEnumerable<MethodInfo> extensions = typeof(WebSocketConnection).Assembly.GetExportedTypes()
            .Where(t => t.IsAbstract && t.IsSealed) // static classes
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute), inherit: false));

        Assert.DoesNotContain(extensions, m => WebSocketSettings.Contains(m.Name));
        foreach (string name in WebSocketSettings)
        {
            Assert.Equal(typeof(WebSocketEndpointConventionBuilder), typeof(WebSocketEndpointConventionBuilder).GetMethod(name)?.ReturnType);
        }
    }

    [Fact]
    public void General_conventions_chain_into_the_WebSocket_settings_and_all_land_as_metadata()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddWebSockets();
        builder.Services.AddAuthorization();
        using WebApplication app = builder.Build();

        app.MapWebSocket("/chat", (WebSocketConnection socket) => Task.CompletedTask)
            .RequireAuthorization()
            .WithSubProtocols("chat.v1")
            .WithMaxMessageSize(5)
            .WithCompression()
            .WithName("chat");
        app.MapWebSocket<NoopHandler>("/typed").RequireSubProtocol().WithSubProtocols("v1");

        Endpoint[] endpoints = [.. ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints)];
        Endpoint chat = Assert.Single(endpoints, e => e.DisplayName == "WebSocket /chat");
        Assert.NotNull(chat.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>());
        Assert.NotNull(chat.Metadata.GetMetadata<IEndpointNameMetadata>());
        Assert.Equal(3, chat.Metadata.Count(m => m.GetType().Name.EndsWith("Metadata", StringComparison.Ordinal) && m.GetType().Namespace == "AspNetWebSockets.Hosting"));
        Assert.Single(endpoints, e => e.DisplayName == "WebSocket /typed (NoopHandler)");
    }

    private sealed class NoopHandler : WebSocketHandler
    {
        public override ValueTask OnMessageAsync(WebSocketMessage message, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
