namespace AspNetWebSockets.RealClientTests;

/// <summary>The page the browser loads from the app under test: helpers (<c>window.rc</c>) that the tests' snippets call.</summary>
internal static class TestPage
{
    public static string Html { get; } = Load();

    private static string Load()
    {
        using Stream stream = typeof(TestPage).Assembly.GetManifestResourceStream("test-page.html")
            ?? throw new InvalidOperationException("The embedded resource test-page.html is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
