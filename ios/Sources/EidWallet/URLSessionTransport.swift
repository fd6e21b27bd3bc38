// The wallet's HTTP exchanges over URLSession: the system trust store, App Transport Security,
// the app's pinning (through the session delegate), proxies and VPN apply as to any other request
// of the app. Give an instance to `WalletHandle.open`, `Verifier.fetch` and `VerifierDesk`.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking  // URLSession on Linux (swift-corelibs-foundation)
#endif

/// Blocking wrapper over `URLSession` for the wallet library, which calls `exchange` on its own
/// worker threads. It waits on a semaphore for the data task: never call it on the main thread
/// (the library never does).
///
/// Failures before the request could leave (no network, host not found, connection refused,
/// TLS or ATS refusal) throw `HttpTransportError.NotSent`: the library always retries them.
/// Anything else (a timeout, a connection lost mid-exchange) throws `.MaybeSent`: retried only for
/// calls safe to repeat. HTTP error statuses are answers, returned with their body. Reasons carry
/// the `URLError` code only (descriptions can hold the URL).
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let session: URLSession

    /// `session`: the app's, with its delegate (certificate pinning) and configuration; an
    /// ephemeral session by default (no cookies or cache on disk).
    public init(session: URLSession = URLSession(configuration: .ephemeral)) {
        self.session = session
    }

    public func exchange(request: HttpRequest) throws -> HttpResponse {
        precondition(!Thread.isMainThread, "URLSessionTransport blocks: not on the main thread")
        guard let url = URL(string: request.url) else {
            throw HttpTransportError.NotSent(reason: "malformed URL")
        }
        var req = URLRequest(url: url)
        req.httpMethod = request.method
        req.timeoutInterval = TimeInterval(request.timeoutMs) / 1000
        req.cachePolicy = .reloadIgnoringLocalCacheData
        for (name, value) in request.headers {
            req.setValue(value, forHTTPHeaderField: name)
        }
        req.httpBody = request.body

        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        let task = session.dataTask(with: req) { data, response, error in
            defer { done.signal() }
            if let error = error {
                outcome.value = .failure(Self.failure(error))
                return
            }
            guard let http = response as? HTTPURLResponse else {
                outcome.value = .failure(.MaybeSent(reason: "not an HTTP answer"))
                return
            }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String {
                    headers[name.lowercased()] = value
                }
            }
            outcome.value = .success(
                HttpResponse(
                    status: UInt16(clamping: http.statusCode), headers: headers,
                    body: data ?? Data()))
        }
        task.resume()
        done.wait()
        return try outcome.value.get()
    }

    /// The data task's outcome: written once in the completion handler (URLSession's queue),
    /// read after the semaphore, which orders the two. A class, because a @Sendable completion
    /// handler may not mutate a captured var (an error in the Swift 6 language mode).
    private final class Outcome: @unchecked Sendable {
        var value: Result<HttpResponse, HttpTransportError> = .failure(.MaybeSent(reason: "no answer"))
    }

    /// Whether the request can have left, from the URLError code.
    static func failure(_ error: Error) -> HttpTransportError {
        guard let e = error as? URLError else {
            return .MaybeSent(reason: "\(type(of: error))")
        }
        let reason = "URLError \(e.code.rawValue)"
        switch e.code {
        case .notConnectedToInternet, .cannotFindHost, .cannotConnectToHost, .dnsLookupFailed,
            .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid,
            .clientCertificateRejected, .clientCertificateRequired, .appTransportSecurityRequiresSecureConnection,
            .internationalRoamingOff, .dataNotAllowed, .callIsActive, .badURL, .unsupportedURL:
            return .NotSent(reason: reason)
        default:
            // .timedOut, .networkConnectionLost and the rest: the request may have reached the
            // backend.
            return .MaybeSent(reason: reason)
        }
    }
}
