// Package servingcert gives triton-apiserver a serving certificate that manages itself: its own CA and a
// certificate that CA signed, kept in one Secret, renewed before they expire, and the CA bundle kept in
// the caBundle of the APIService and of the webhook configurations that point at the server.
//
// The rules (what to renew, when, and in which order so that kube-apiserver never meets a certificate it
// cannot verify) are pure functions in this file; the Secret, the injection and the serving are I/O
// around them.
package servingcert
