// Package analysistemplate stores AnalysisTemplates in etcd through the generic registry: checks a
// platform team writes once, which releases of the namespace name and copy when they are created.
package analysistemplate
