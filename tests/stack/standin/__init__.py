"""Local Supabase stand-in (Realtime, PostgREST subset, Auth subset, fault injection)."""
