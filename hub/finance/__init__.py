"""Finance integration: the state the agreement-approval consumer keeps."""
