"""The customer portal ("Cliente Online"): customers' accounts, their sign-in, and what they
may see and do on their own tickets."""
