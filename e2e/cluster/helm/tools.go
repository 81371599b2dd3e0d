//go:build tools

// Package tools anchors the helm module; build.sh builds its cmd/helm.
package tools

import _ "helm.sh/helm/v4/pkg/cmd"
