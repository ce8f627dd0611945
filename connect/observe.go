package connect

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// WithRequestObserver calls observe with every request message the client
// sends: the request of each unary call and every message sent on a stream.
// method is the full gRPC method name, e.g.
// "/spark.connect.SparkConnectService/ExecutePlan". It is meant for tests
// and audits that must see exactly what goes to the server; observe must
// not modify req and may be called from several goroutines at once.
func WithRequestObserver(observe func(method string, req proto.Message)) Option {
	return func(o *options) {
		if observe == nil {
			return
		}
		o.dialOpts = append(o.dialOpts,
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if m, ok := req.(proto.Message); ok {
					observe(method, m)
				}
				return invoker(ctx, method, req, reply, cc, opts...)
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
				s, err := streamer(ctx, desc, cc, method, opts...)
				if err != nil {
					return nil, err
				}
				return &observedStream{ClientStream: s, method: method, observe: observe}, nil
			}),
		)
	}
}

// observedStream reports every message sent on a client stream.
type observedStream struct {
	grpc.ClientStream
	method  string
	observe func(string, proto.Message)
}

func (s *observedStream) SendMsg(m any) error {
	if pm, ok := m.(proto.Message); ok {
		s.observe(s.method, pm)
	}
	return s.ClientStream.SendMsg(m)
}
