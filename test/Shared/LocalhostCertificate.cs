using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AspNetWebSockets.TestShared;

/// <summary>
/// A self-signed server certificate for localhost and 127.0.0.1, made in memory, so TLS tests need no machine store
/// or dev certificate. Linked as source into the test projects that serve HTTPS.
/// </summary>
internal static class LocalhostCertificate
{
    /// <summary>Creates a certificate valid from yesterday to tomorrow, with its private key, usable by Kestrel.</summary>
    public static X509Certificate2 Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Round-trip through PFX: on Linux an ephemeral key from CreateSelfSigned cannot be used by SslStream directly.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), password: null);
    }
}
