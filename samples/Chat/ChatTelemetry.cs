using AspNetWebSockets;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

/// <summary>
/// OpenTelemetry for the chat sample, on only when asked for: <c>--otel console</c> exports to the console,
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (the standard variable) to an OTLP collector. Traces: ASP.NET Core's request span
/// and the <c>AspNetWebSockets</c> source (upgrade, connection, and one message span in ten); metrics: the
/// <c>AspNetWebSockets</c> meter.
/// </summary>
internal static class ChatTelemetry
{
    public static void AddIfConfigured(WebApplicationBuilder builder)
    {
        bool console = string.Equals(builder.Configuration["otel"], "console", StringComparison.OrdinalIgnoreCase);
        bool otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!console && !otlp)
        {
            return;
        }

        builder.Services.Configure<WebSocketServerOptions>(o =>
        {
            o.Tracing.MessageSpans = true;
            o.Tracing.MessageSampleRatio = builder.Configuration.GetValue("otelMessageSampleRatio", 0.1);
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("chat-sample"))
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation().AddSource("AspNetWebSockets");
                if (console)
                {
                    tracing.AddConsoleExporter();
                }

                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter("AspNetWebSockets");
                if (console)
                {
                    metrics.AddConsoleExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
    }
}
