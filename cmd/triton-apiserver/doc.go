// Command triton-apiserver serves the releases.triton.io API.
package main
