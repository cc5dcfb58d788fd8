package sockwatch

import (
	"os"
	"path/filepath"
)

// DefaultProcRoot is where proc is read when neither the caller nor
// HOST_PROC says otherwise.
const DefaultProcRoot = "/proc"

// ProcRoot returns the proc root to read: override if it is not empty, else
// the HOST_PROC environment variable (the convention Telegraf and the Prometheus
// exporters share for an agent in a container with the host's /proc mounted),
// else /proc.
func ProcRoot(override string) string {
	if override != "" {
		return filepath.Clean(override)
	}
	if env := os.Getenv("HOST_PROC"); env != "" {
		return filepath.Clean(env)
	}
	return DefaultProcRoot
}

// netDir returns the net directory that describes the host: that of PID 1's
// network namespace, so that an agent in a container reads the host when the
// host's /proc is mounted, falling back to root/net when PID 1 cannot be
// seen (hidepid, a proc tree without processes).
func netDir(root string) string {
	if dir := filepath.Join(root, "1", "net"); readable(filepath.Join(dir, "sockstat")) {
		return dir
	}
	return filepath.Join(root, "net")
}
