#!/usr/bin/env bash
# Makes the cluster's certificates with openssl into DIR: one CA, the API server's serving
# certificate, a client certificate per component (its user and groups are what RBAC and the Node
# authorizer see), and the service-account signing key. Usage: pki.sh DIR NODE_NAME NODE_IP
set -euo pipefail
dir="$1" node="$2" node_ip="$3"
mkdir -p "$dir"
cd "$dir"
[[ -f ca.crt ]] && exit 0

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
  -subj "/CN=kcfs-e2e-ca" 2>/dev/null

# cert NAME SUBJECT [SANS]: a key and a certificate signed by the CA.
cert() {
  local name="$1" subject="$2" sans="${3:-}"
  local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
  [[ -n "$sans" ]] && ext+=$'\n'"subjectAltName=$sans"
  openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" \
    -days 2 -extfile <(printf '%s\n' "$ext") 2>/dev/null
  rm -f "$name.csr"
}

cert apiserver "/CN=kube-apiserver" \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:10.96.0.1,IP:$node_ip"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=kubernetes-admin"
cert controller-manager "/CN=system:kube-controller-manager"
cert scheduler "/CN=system:kube-scheduler"
cert kube-proxy "/CN=system:kube-proxy"
cert "kubelet" "/O=system:nodes/CN=system:node:$node" "DNS:$node,IP:$node_ip,IP:127.0.0.1"
cert "kubelet-other-node" "/O=system:nodes/CN=system:node:other-node"
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
