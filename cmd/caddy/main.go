// Command caddy is Caddy with its standard modules and the storagecli S3
// gateway module (http.handlers.s3gateway, Caddyfile directive s3gateway).
// It is the same program `xcaddy build --with github.com/lambda/storagecli/caddymodule`
// produces, built with this repository's go.mod: see xcaddy.md.
//
//	go build ./cmd/caddy
//	./caddy run --config Caddyfile
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// The standard Caddy modules.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// The S3 gateway.
	_ "github.com/lambda/storagecli/caddymodule"
)

func main() {
	caddycmd.Main()
}
