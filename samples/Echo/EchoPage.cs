/// <summary>A one-page browser client for trying the echo endpoint by hand.</summary>
internal static class EchoPage
{
    public const string Html = """
        <!doctype html>
        <meta charset="utf-8">
        <title>AspNetWebSockets echo</title>
        <h1>Echo</h1>
        <input id="text" value="Hello, WebSocket 👋" size="40"> <button id="send">Send</button>
        <pre id="log"></pre>
        <script>
          const log = (line) => document.getElementById("log").textContent += line + "\n";
          const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/echo");
          socket.onopen = () => { log("open"); socket.send(document.getElementById("text").value); };
          socket.onmessage = (e) => log("echo: " + e.data);
          socket.onclose = (e) => log(`closed ${e.code} ${e.reason} clean=${e.wasClean}`);
          document.getElementById("send").onclick = () => socket.send(document.getElementById("text").value);
        </script>
        """;
}
