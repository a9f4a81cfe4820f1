package config

import (
	"os"
	"path/filepath"
	"strings"
)

// HomeDirName is the name of the storagecli home under the user's home
// directory.
const HomeDirName = ".lambda_storagecli"

// DefaultHome returns ~/.lambda_storagecli (or ./.lambda_storagecli if the
// user's home directory is unknown).
func DefaultHome() string {
	dir, err := os.UserHomeDir()
	if err != nil || dir == "" {
		return HomeDirName
	}
	return filepath.Join(dir, HomeDirName)
}

// ConfigDir returns home/config.
func ConfigDir(home string) string { return filepath.Join(home, "config") }

// ConfigPath returns the default configuration file, home/config/user.toml.
func ConfigPath(home string) string { return filepath.Join(ConfigDir(home), "user.toml") }

// RunDir returns home/run, where pid and lock files are kept.
func RunDir(home string) string { return filepath.Join(home, "run") }

// LogDir returns home/log.
func LogDir(home string) string { return filepath.Join(home, "log") }

// GatewayLogFile returns the default log file of a daemonized gateway,
// home/log/gateway.log.
func GatewayLogFile(home string) string { return filepath.Join(LogDir(home), "gateway.log") }

// PIDFile returns the pid file of the gateway serving order:
// home/run/gateway-<order>.pid.
func PIDFile(home, order string) string {
	return filepath.Join(RunDir(home), "gateway-"+order+".pid")
}

// LockFile returns the lock file of the gateway serving order:
// home/run/gateway-<order>.lock. The running gateway holds an exclusive
// flock on it.
func LockFile(home, order string) string {
	return filepath.Join(RunDir(home), "gateway-"+order+".lock")
}

// ExpandPath resolves a path from the configuration against the storagecli
// home:
//   - "~/.lambda_storagecli/..." is under home itself, so moving the home
//     with --home moves the default data directory with it;
//   - any other "~" or "~/..." is under the directory holding home (the
//     user's home directory for the default home);
//   - a relative path is relative to home;
//   - an absolute path is used as it is.
func ExpandPath(p, home string) string {
	switch {
	case p == "~":
		return filepath.Dir(filepath.Clean(home))
	case strings.HasPrefix(p, "~/"):
		rest := filepath.Clean(p[2:])
		if rest == HomeDirName {
			return filepath.Clean(home)
		}
		if r, ok := strings.CutPrefix(rest, HomeDirName+string(filepath.Separator)); ok {
			return filepath.Join(home, r)
		}
		return filepath.Join(filepath.Dir(filepath.Clean(home)), rest)
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	default:
		return filepath.Join(home, p)
	}
}

// DataDir returns the resolved broker.db_path (see ExpandPath).
func (c *Config) DataDir(home string) string { return ExpandPath(c.Broker.DBPath, home) }

// OrderDataDir returns the directory of an order's embedded store:
// db_path/<order>.
func (c *Config) OrderDataDir(home, order string) string {
	return filepath.Join(c.DataDir(home), order)
}
