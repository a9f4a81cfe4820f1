// Command storagecli runs the storagecli S3 gateway and manages its
// configuration.
//
//	storagecli init                      write ~/.lambda_storagecli/config/user.toml
//	storagecli config [key] [value]      show or change the configuration
//	storagecli gateway run [flags]       serve the S3 API (--daemonize, --status, --stop)
//	storagecli order list                show the configured orders
//	storagecli version
//
// Exit codes: 0 success; 1 error; 2 invalid command line; 3 `gateway run
// --status` found no running gateway.
package main

import (
	"os"
)

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}
