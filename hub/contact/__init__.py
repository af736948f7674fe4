"""The contact center: script trees and forms as a person sees them, occurrences recorded from
the operator desk and from the omnichannel desk (seed 003)."""
