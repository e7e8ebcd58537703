global using System.Net.WebSockets;
global using AspNetWebSockets;
global using Microsoft.AspNetCore.Builder;
global using Microsoft.Extensions.DependencyInjection;
global using Xunit;
