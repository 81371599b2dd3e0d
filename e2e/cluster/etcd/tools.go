//go:build tools

// Package tools anchors the etcd server module; build.sh builds its main package.
package tools

import _ "go.etcd.io/etcd/server/v3/etcdmain"
