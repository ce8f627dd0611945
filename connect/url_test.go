package connect

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestParseURLGood(t *testing.T) {
	base := func(host string, port int) Endpoint {
		return Endpoint{Host: host, Port: port, MaxMessageSize: DefaultMaxMessageSize, Headers: map[string]string{}}
	}
	with := func(e Endpoint, f func(*Endpoint)) Endpoint { f(&e); return e }

	tests := []struct {
		in   string
		want Endpoint
	}{
		{"sc://localhost", base("localhost", 15002)},
		{"sc://localhost/", base("localhost", 15002)},
		{"sc://localhost:15002", base("localhost", 15002)},
		{"sc://localhost:15002/", base("localhost", 15002)},
		{"  sc://localhost:1/  ", base("localhost", 1)},
		{"\tsc://h/\n", base("h", 15002)},
		{"SC://Spark.Example.COM:443/", base("Spark.Example.COM", 443)},
		{"sc://127.0.0.1:65535", base("127.0.0.1", 65535)},
		{"sc://[::1]", base("::1", 15002)},
		{"sc://[::1]:15003/", base("::1", 15003)},
		{"sc://[2001:db8::1]:80/;use_ssl=true", with(base("2001:db8::1", 80), func(e *Endpoint) { e.UseSSL = true })},
		{"sc://my_host-1.internal/", base("my_host-1.internal", 15002)},
		{"sc://h/;token=abc", with(base("h", 15002), func(e *Endpoint) { e.Token = "abc" })},
		{"sc://h/;token=a%2Bb%3Bc%25", with(base("h", 15002), func(e *Endpoint) { e.Token = "a+b;c%" })},
		{"sc://h/;token=a+b/c==", with(base("h", 15002), func(e *Endpoint) { e.Token = "a+b/c==" })},
		{"sc://h/;;token=x;", with(base("h", 15002), func(e *Endpoint) { e.Token = "x" })},
		{"sc://h/;", base("h", 15002)},
		{"sc://h/;;;", base("h", 15002)},
		{"sc://h/;use_ssl=false", base("h", 15002)},
		{"sc://h/;use_ssl=TRUE", with(base("h", 15002), func(e *Endpoint) { e.UseSSL = true })},
		{"sc://h/;user_id=Jane%20Doe;user_agent=my-app/1.0", with(base("h", 15002), func(e *Endpoint) {
			e.UserID = "Jane Doe"
			e.UserAgent = "my-app/1.0"
		})},
		{"sc://h/;user_id=", base("h", 15002)},
		{"sc://h/;user_id=J%C3%BCrgen", with(base("h", 15002), func(e *Endpoint) { e.UserID = "Jürgen" })},
		{"sc://h/;session_id=00112233-4455-6677-8899-AABBCCDDEEFF", with(base("h", 15002), func(e *Endpoint) {
			e.SessionID = "00112233-4455-6677-8899-aabbccddeeff"
		})},
		{"sc://h/;grpc_max_message_size=1024", with(base("h", 15002), func(e *Endpoint) { e.MaxMessageSize = 1024 })},
		{"sc://h/;x-Custom-Header=v%201;x-other=2", with(base("h", 15002), func(e *Endpoint) {
			e.Headers = map[string]string{"x-custom-header": "v 1", "x-other": "2"}
		})},
		{"sc://h/;x-empty=", with(base("h", 15002), func(e *Endpoint) { e.Headers = map[string]string{"x-empty": ""} })},
		{"sc://h/;trace-bin=%00%FF", with(base("h", 15002), func(e *Endpoint) { e.Headers = map[string]string{"trace-bin": "\x00\xff"} })},
		{"sc://h/;x=a=b", with(base("h", 15002), func(e *Endpoint) { e.Headers = map[string]string{"x": "a=b"} })},
		{"sc://db.example.com:443/;token=t;use_ssl=true;user_id=u;user_agent=ua;session_id=00112233-4455-6677-8899-aabbccddeeff;grpc_max_message_size=7;x-a=1", Endpoint{
			Host: "db.example.com", Port: 443, Token: "t", UseSSL: true, UserID: "u", UserAgent: "ua",
			SessionID: "00112233-4455-6677-8899-aabbccddeeff", MaxMessageSize: 7, Headers: map[string]string{"x-a": "1"},
		}},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("ParseURL(%q) =\n %#v\nwant\n %#v", tt.in, *got, tt.want)
		}
		checkRoundTrip(t, tt.in, got)
	}
}

func TestParseURLBad(t *testing.T) {
	const p = "invalid Spark Connect URL "
	tests := []struct {
		in   string
		want string // the whole error, or a substring when it does not start with p
	}{
		{"http://x", p + `"http://x": scheme must be "sc" (example: sc://localhost:15002/;token=...)`},
		{"", "empty"},
		{"localhost:15002", `missing "sc://" prefix`},
		{"sc:/localhost", `missing "sc://" prefix`},
		{"sc://", "missing host"},
		{"sc:///;token=x", "missing host"},
		{"sc://:15002", "missing host"},
		{"sc://u:p@h", `"sc://***@h": user info ("user@") is not allowed: pass the credentials as ;token=...`},
		{"sc://tok@h:1/", "user info"},
		{"sc://h/path", `path "/path" is not allowed`},
		{"sc://h//;token=x", `path "//" is not allowed`},
		{"sc://h/x;token=x", `path "/x" is not allowed`},
		{"sc://h;token=secret", `parameters must follow "/;" (example: sc://h:15002/;token=***)`},
		{"sc://h/?token=x", "query strings"},
		{"sc://h/;token=x?y", "query strings"},
		{"sc://h/#frag", "fragments"},
		{"sc://h:99999", p + `"sc://h:99999": port "99999" out of range 1-65535`},
		{"sc://h:0", `port "0" out of range 1-65535`},
		{"sc://h:-1", `port "-1" is not a number`},
		{"sc://h:abc/", `port "abc" is not a number`},
		{"sc://h:/", "empty port"},
		{"sc://[::1]:/", "empty port"},
		{"sc://h:1:2", "must be in brackets"},
		{"sc://::1", "must be in brackets"},
		{"sc://[::1", "missing ']'"},
		{"sc://[::1]x", `unexpected "x" after IPv6 address`},
		{"sc://[127.0.0.1]", "not an IPv6 address"},
		{"sc://[fe80::1%25eth0]", "not an IPv6 address"},
		{"sc://[nothex]", "not an IPv6 address"},
		{"sc://h%41/", `contains '%'`},
		{"sc://bücher.de/", "punycode"},
		{"sc://h h/", `contains ' '`},
		{"sc://h/;tok\nen=x", "control character"},
		{"sc://h/;token=a;token=b", p + `"sc://h/;token=***;token=***": duplicate key "token"`},
		{"sc://h/;x-a=1;X-A=2", `duplicate key "X-A" (header names are case-insensitive)`},
		{"sc://h/;=x", p + `"sc://h/;=x": empty key in ";=x"`},
		{"sc://h/;use_ssl", `parameter "use_ssl" has no "=": write key=value`},
		{"sc://h/;token", `parameter "token" has no "=": write token=<value>`},
		{"sc://h/;use_ssl=yes", p + `"sc://h/;use_ssl=yes": key "use_ssl": want true or false, got "yes"`},
		{"sc://h/;use_ssl=", `key "use_ssl": want true or false, got ""`},
		{"sc://h/;session_id=abc", `session_id "abc" is not a UUID`},
		{"sc://h/;session_id={00112233-4455-6677-8899-aabbccddeeff}", "is not a UUID"},
		{"sc://h/;session_id=urn:uuid:00112233-4455-6677-8899-aabbccddeeff", "is not a UUID"},
		{"sc://h/;grpc_max_message_size=0", `key "grpc_max_message_size": want a positive number of bytes up to 2147483647, got "0"`},
		{"sc://h/;grpc_max_message_size=-5", "want a positive number"},
		{"sc://h/;grpc_max_message_size=1e6", `got "1e6"`},
		{"sc://h/;grpc_max_message_size=99999999999", "want a positive number"},
		{"sc://h/;token=", `key "token": empty value`},
		{"sc://h/;token=a%20b", `key "token": the value contains spaces`},
		{"sc://h/;token=%zz", `key "token": invalid percent-encoding in the value`},
		{"sc://h/;x-a=%zz", `key "x-a": invalid percent-encoding in "%zz"`},
		{"sc://h/;Token=x", `unknown key "Token": keys are case-sensitive, did you mean "token"?`},
		{"sc://h/;USE_SSL=true", `did you mean "use_ssl"?`},
		{"sc://h/;authorization=Bearer%20x", `key "authorization" is reserved: pass the token as ;token=... instead`},
		{"sc://h/;Authorization=x", `key "authorization" is reserved`},
		{"sc://h/;user-agent=x", `use ;user_agent=... instead`},
		{"sc://h/;grpc-timeout=1S", `key "grpc-timeout" is a reserved gRPC header name`},
		{"sc://h/;:authority=evil", `key ":authority" is a reserved gRPC header name`},
		{"sc://h/;content-type=x", "reserved gRPC header name"},
		{"sc://h/;x%20y=1", `key "x%20y": header names may only contain`},
		{"sc://h/;x=%0A", `key "x": header value "\n" must be printable ASCII`},
		{"sc://h/;user_agent=%01", `key "user_agent": "\x01" must be printable ASCII`},
		{"sc://h/;user_id=%FF", `key "user_id": "\xff" is not valid UTF-8`},
	}
	for _, tt := range tests {
		ep, err := ParseURL(tt.in)
		if err == nil {
			t.Errorf("ParseURL(%q) = %v, want error containing %q", tt.in, ep, tt.want)
			continue
		}
		msg := err.Error()
		if strings.HasPrefix(tt.want, p) {
			if msg != tt.want {
				t.Errorf("ParseURL(%q) error\n %s\nwant\n %s", tt.in, msg, tt.want)
			}
		} else if !strings.HasPrefix(msg, p) || !strings.Contains(msg, tt.want) {
			t.Errorf("ParseURL(%q) error\n %s\nwant it to start with %q and contain %q", tt.in, msg, p, tt.want)
		}
	}
}

func TestParseURLNeverEchoesToken(t *testing.T) {
	const secret = "s3cr3tTOKEN"
	for _, in := range []string{
		"sc://h/;token=" + secret + ";token=" + secret,
		"sc://h/;token=" + secret + ";use_ssl=maybe",
		"sc://h/;token=" + secret + "%zz",
		"sc://h/;token=" + secret + "%20x",
		"sc://h/;token=" + secret + "?",
		"sc://h/;token=" + secret + "#",
		"sc://h;token=" + secret,
		"sc://h/x;token=" + secret,
		"http://h/;token=" + secret,
		"sc://h:0/;token=" + secret,
		"sc://" + secret + "@h/",
		"sc://u:" + secret + "@h/",
		"sc://h/;authorization=" + secret,
		"sc://h/;Authorization=" + secret,
	} {
		_, err := ParseURL(in)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURL(%q) error echoes the secret: %v", in, err)
		}
	}
}

func TestEndpointURLString(t *testing.T) {
	ep, err := ParseURL("sc://[::1]/;x-b=2;grpc_max_message_size=5;token=abc;x-a=a%3Bb%20c;user_id=u;use_ssl=true;session_id=00112233-4455-6677-8899-aabbccddeeff;user_agent=ua")
	if err != nil {
		t.Fatal(err)
	}
	want := "sc://[::1]:15002/;token=***;use_ssl=true;user_id=u;user_agent=ua;session_id=00112233-4455-6677-8899-aabbccddeeff;grpc_max_message_size=5;x-a=a%3Bb%20c;x-b=2"
	if got := ep.String(); got != want {
		t.Errorf("String() =\n %s\nwant\n %s", got, want)
	}
	if got := (&Endpoint{Host: "h"}).String(); got != "sc://h:15002/" {
		t.Errorf("zero Endpoint String() = %q", got)
	}
}

func TestEndpointURLTargetAndLoopback(t *testing.T) {
	tests := []struct {
		in       string
		target   string
		loopback bool
	}{
		{"sc://localhost", "localhost:15002", true},
		{"sc://LocalHost.:1", "LocalHost.:1", true},
		{"sc://127.0.0.1", "127.0.0.1:15002", true},
		{"sc://127.255.0.9:5", "127.255.0.9:5", true},
		{"sc://[::1]", "[::1]:15002", true},
		{"sc://[::ffff:127.0.0.1]", "[::ffff:127.0.0.1]:15002", true},
		{"sc://[0:0:0:0:0:0:0:1]:7", "[0:0:0:0:0:0:0:1]:7", true},
		{"sc://128.0.0.1", "128.0.0.1:15002", false},
		{"sc://[::2]", "[::2]:15002", false},
		{"sc://localhost.example.com", "localhost.example.com:15002", false},
		{"sc://0.0.0.0", "0.0.0.0:15002", false},
		{"sc://db.example.com:443", "db.example.com:443", false},
	}
	for _, tt := range tests {
		ep, err := ParseURL(tt.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if got := ep.Target(); got != tt.target {
			t.Errorf("%q: Target() = %q, want %q", tt.in, got, tt.target)
		}
		if got := ep.IsLoopback(); got != tt.loopback {
			t.Errorf("%q: IsLoopback() = %v, want %v", tt.in, got, tt.loopback)
		}
	}
}

// checkRoundTrip asserts that ep.String() parses back to ep, apart from
// the redacted token.
func checkRoundTrip(t *testing.T, in string, ep *Endpoint) {
	t.Helper()
	s := ep.String()
	if strings.Contains(s, ";token=") && !strings.Contains(s, ";token=***") {
		t.Fatalf("String() of %q does not redact the token: %s", in, s)
	}
	back, err := ParseURL(s)
	if err != nil {
		t.Fatalf("String() of %q = %q does not parse: %v", in, s, err)
	}
	want := *ep
	if want.Token != "" {
		want.Token = "***"
	}
	if !reflect.DeepEqual(*back, want) {
		t.Fatalf("round trip of %q via %q:\n got %#v\nwant %#v", in, s, *back, want)
	}
	if again := back.String(); again != s {
		t.Fatalf("String() not stable for %q: %q then %q", in, s, again)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"sc://localhost",
		"sc://localhost:15002/",
		"sc://[::1]:15002/;token=abc",
		"sc://h/;;token=x;",
		"sc://db.example.com:443/;token=t;use_ssl=true;user_id=u;user_agent=ua;session_id=00112233-4455-6677-8899-aabbccddeeff;grpc_max_message_size=7;x-a=1",
		"sc://h/;x-a=%3B%25%20;trace-bin=%00",
		"sc://u:p@h",
		"http://x",
		"sc://h:99999",
		"sc://h/;use_ssl=yes",
		"sc://h/;=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := ParseURL(s)
		if err != nil {
			if ep != nil {
				t.Fatalf("ParseURL(%q) returned both an endpoint and an error", s)
			}
			return
		}
		if ep.Host == "" || ep.Port < 1 || ep.Port > 65535 || ep.MaxMessageSize < 1 || ep.Headers == nil {
			t.Fatalf("ParseURL(%q) = %#v: invalid endpoint", s, *ep)
		}
		_ = ep.Target()
		_ = ep.IsLoopback()
		checkRoundTrip(t, s, ep)
	})
}

// The dialOptions tests live here because credentials.go has no test file
// of its own.

// startMetadataServer runs a gRPC server on 127.0.0.1 that answers every
// unary call with an empty message (or reply, when set) and sends the
// incoming metadata of each call to the returned channel.
func startMetadataServer(t *testing.T, reply proto.Message) (port int, got <-chan metadata.MD) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan metadata.MD, 16)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		ch <- md
		if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
			return err
		}
		if reply != nil {
			return stream.SendMsg(reply)
		}
		return stream.SendMsg(new(emptypb.Empty))
	}))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().(*net.TCPAddr).Port, ch
}

func dialEndpoint(t *testing.T, ep *Endpoint, ua string) *grpc.ClientConn {
	t.Helper()
	opts, err := ep.dialOptions(ua)
	if err != nil {
		t.Fatalf("dialOptions: %v", err)
	}
	conn, err := grpc.NewClient(ep.Target(), opts...)
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestCredentialsSendTokenAndHeaders(t *testing.T) {
	port, got := startMetadataServer(t, nil)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		ep, err := ParseURL(fmt.Sprintf("sc://%s:%d/;token=s3cr%%3Bt;x-team=data%%20eng;x-Trace-Id=42", host, port))
		if err != nil {
			t.Fatal(err)
		}
		conn := dialEndpoint(t, ep, "sdp-mcp/test")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := conn.Invoke(ctx, "/test.Echo/Call", new(emptypb.Empty), new(emptypb.Empty)); err != nil {
			cancel()
			t.Fatalf("%s: Invoke: %v", host, err)
		}
		cancel()
		md := <-got
		for k, want := range map[string]string{"authorization": "Bearer s3cr;t", "x-team": "data eng", "x-trace-id": "42"} {
			if v := md.Get(k); len(v) != 1 || v[0] != want {
				t.Errorf("%s: metadata %q = %q, want [%q]", host, k, v, want)
			}
		}
		if ua := md.Get("user-agent"); len(ua) != 1 || !strings.HasPrefix(ua[0], "sdp-mcp/test") {
			t.Errorf("%s: user-agent = %q, want the default sdp-mcp/test", host, ua)
		}
	}
}

func TestCredentialsUserAgentAndNoToken(t *testing.T) {
	port, got := startMetadataServer(t, nil)
	ep, err := ParseURL(fmt.Sprintf("sc://127.0.0.1:%d/;user_agent=my-tool/2.0", port))
	if err != nil {
		t.Fatal(err)
	}
	conn := dialEndpoint(t, ep, "sdp-mcp/test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.Invoke(ctx, "/test.Echo/Call", new(emptypb.Empty), new(emptypb.Empty)); err != nil {
		t.Fatal(err)
	}
	md := <-got
	if v := md.Get("authorization"); len(v) != 0 {
		t.Errorf("authorization sent without a token: %q", v)
	}
	if ua := md.Get("user-agent"); len(ua) != 1 || !strings.HasPrefix(ua[0], "my-tool/2.0") {
		t.Errorf("user-agent = %q, want my-tool/2.0 from the URL", ua)
	}
}

func TestCredentialsMaxMessageSize(t *testing.T) {
	port, _ := startMetadataServer(t, wrapperspb.Bytes(make([]byte, 4096)))
	ep, err := ParseURL(fmt.Sprintf("sc://127.0.0.1:%d/;grpc_max_message_size=1024", port))
	if err != nil {
		t.Fatal(err)
	}
	conn := dialEndpoint(t, ep, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = conn.Invoke(ctx, "/test.Echo/Call", new(emptypb.Empty), new(wrapperspb.BytesValue))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("Invoke with a 4 KiB reply and a 1 KiB limit: %v, want RESOURCE_EXHAUSTED", err)
	}
}

func TestCredentialsTokenNeedsTLS(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"sc://db.example.com/;token=abc", `token requires TLS for non-loopback host "db.example.com": add ;use_ssl=true to the URL, or connect to a loopback address`},
		{"sc://10.0.0.1:15002/;token=abc", `token requires TLS for non-loopback host "10.0.0.1"`},
		{"sc://[2001:db8::1]/;token=abc", `token requires TLS for non-loopback host "2001:db8::1"`},
		{"sc://db.example.com/;token=abc;use_ssl=true", ""},
		{"sc://db.example.com/", ""},
		{"sc://db.example.com/;use_ssl=true", ""},
		{"sc://localhost/;token=abc", ""},
		{"sc://127.0.0.2/;token=abc", ""},
		{"sc://[::1]/;token=abc", ""},
		{"sc://[::1]/;token=abc;use_ssl=true", ""},
	}
	for _, tt := range tests {
		ep, err := ParseURL(tt.url)
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", tt.url, err)
		}
		opts, err := ep.dialOptions("sdp-mcp/test")
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: dialOptions: %v", tt.url, err)
		case tt.wantErr == "" && len(opts) == 0:
			t.Errorf("%s: no dial options", tt.url)
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("%s: dialOptions error = %v, want %q", tt.url, err, tt.wantErr)
		case tt.wantErr != "" && (opts != nil || strings.Contains(err.Error(), "abc")):
			t.Errorf("%s: dialOptions returned options %v or echoed the token: %v", tt.url, opts, err)
		}
	}
}

func TestCredentialsRejectBadEndpoint(t *testing.T) {
	for _, ep := range []*Endpoint{
		{},
		{Host: "localhost", Headers: map[string]string{"authorization": "Bearer x"}},
		{Host: "localhost", Headers: map[string]string{"grpc-timeout": "1S"}},
		{Host: "localhost", Headers: map[string]string{"X-Upper": "1"}},
		{Host: "localhost", Token: "a b"},
		{Host: "localhost", MaxMessageSize: -1},
	} {
		if _, err := ep.dialOptions("sdp-mcp/test"); err == nil {
			t.Errorf("dialOptions(%#v) succeeded", *ep)
		}
	}
}

func TestCredentialsPerRPC(t *testing.T) {
	c := &callMetadata{md: map[string]string{"authorization": "Bearer t"}, requireTLS: true}
	md, err := c.GetRequestMetadata(context.Background())
	if err != nil || md["authorization"] != "Bearer t" || !c.RequireTransportSecurity() {
		t.Fatalf("GetRequestMetadata = %v, %v; RequireTransportSecurity = %v", md, err, c.RequireTransportSecurity())
	}
	md["authorization"] = "changed"
	if md2, _ := c.GetRequestMetadata(context.Background()); md2["authorization"] != "Bearer t" {
		t.Errorf("GetRequestMetadata returns the shared map")
	}
}

// TestCredentialsTLSUsesSystemRoots dials a TLS server whose self-signed
// certificate no system root trusts: with use_ssl=true the handshake must
// fail on the certificate, and without it the plaintext client must not
// get through either.
func TestCredentialsTLSUsesSystemRoots(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sdp-mcp test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	called := make(chan struct{}, 4)
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewServerTLSFromCert(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})),
		grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error { called <- struct{}{}; return nil }),
	)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	port := lis.Addr().(*net.TCPAddr).Port

	for _, ssl := range []bool{true, false} {
		ep, err := ParseURL(fmt.Sprintf("sc://127.0.0.1:%d/;token=abc;use_ssl=%v", port, ssl))
		if err != nil {
			t.Fatal(err)
		}
		conn := dialEndpoint(t, ep, "sdp-mcp/test")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = conn.Invoke(ctx, "/test.Echo/Call", new(emptypb.Empty), new(emptypb.Empty))
		cancel()
		if status.Code(err) != codes.Unavailable {
			t.Errorf("use_ssl=%v: Invoke = %v, want UNAVAILABLE", ssl, err)
		}
		if ssl && !strings.Contains(err.Error(), "certificate") {
			t.Errorf("use_ssl=true: Invoke = %v, want a certificate verification failure", err)
		}
	}
	select {
	case <-called:
		t.Errorf("a call reached the server")
	default:
	}
}
