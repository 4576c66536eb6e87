package driver

import "context"

// Screenshotter is implemented by drivers that can capture the guest's display. It is optional:
// callers discover it with a type assertion, and treat a driver without it as ErrUnsupported.
type Screenshotter interface {
	// Screenshot returns the guest's display as a PNG image. ErrNotRunning when the guest is not
	// running; ErrUnsupported when this guest has no display device to capture (for qemu, an
	// instance with `video.display: none`). The image is whatever the guest put on its display: the
	// caller treats it as untrusted data and never interprets it beyond decoding.
	Screenshot(ctx context.Context) ([]byte, error)
}
