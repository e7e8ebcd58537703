global using System.Net.WebSockets;
global using System.Text;
global using AspNetWebSockets;
global using AspNetWebSockets.TestShared;
global using Microsoft.AspNetCore.Builder;
global using Microsoft.Extensions.DependencyInjection;
global using Microsoft.Extensions.Logging;
global using Xunit;
