// Package controller moves releases on from what their pods do: it starts new releases, moves batches from
// Smoking to Smoked to Baking to Baked, pulls pods into traffic, advances Auto releases, fails a batch
// past its deadline, and keeps each CloneSet what its release intends. Every transition goes through
// pkg/release/plan, as the action subresources' do, and every CloneSet write through pkg/release/cloneset.
package controller
