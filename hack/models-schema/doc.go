// Command models-schema prints the generated OpenAPI definitions as an OpenAPI v2 document, which
// applyconfiguration-gen reads to make apply configurations that know each list's merge keys.
package main
