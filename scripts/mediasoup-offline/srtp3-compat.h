/*
 * Parley: libsrtp 3.0 API on top of Debian's libsrtp 2.x.
 *
 * mediasoup 3.19.3 is written against libsrtp 3.0, whose protect/unprotect
 * functions take separate input and output buffers with size_t lengths.
 * Debian 12 ships libsrtp 2.5, which protects in place with an int length.
 * This header is force-included (-include) into every C++ translation unit
 * that depends on libsrtp, and adds C++ overloads with the 3.0 signatures
 * that forward to the 2.x functions. Only what mediasoup calls is bridged.
 */
#ifndef PARLEY_SRTP3_COMPAT_H
#define PARLEY_SRTP3_COMPAT_H

#include <srtp.h>

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <climits>

/* Error codes added in 3.0; values outside the 2.x enum (which ends at 27). */
static constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(100);
static constexpr srtp_err_status_t srtp_err_status_cryptex_err = static_cast<srtp_err_status_t>(101);

namespace parley_srtp_compat
{
	/* Copies `in` to `out` when they differ, runs the in-place 2.x function and
	 * reports the new length. `out_len` holds the capacity of `out` on entry. */
	template<typename Fn>
	inline srtp_err_status_t run(
	  Fn fn, srtp_t ctx, const uint8_t* in, size_t in_len, uint8_t* out, size_t* out_len, size_t extra)
	{
		if (in_len > static_cast<size_t>(INT_MAX))
			return srtp_err_status_bad_param;
		if (*out_len < in_len + extra)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, in_len);
		int len = static_cast<int>(in_len);
		const srtp_err_status_t err = fn(ctx, out, &len);
		if (err == srtp_err_status_ok)
			*out_len = static_cast<size_t>(len);
		return err;
	}
} // namespace parley_srtp_compat

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtp_len, uint8_t* srtp, size_t* srtp_len, size_t /*mki_index*/)
{
	return parley_srtp_compat::run(
	  [](srtp_t c, void* b, int* l) { return srtp_protect(c, b, l); }, ctx, rtp, rtp_len, srtp, srtp_len, SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtp_len, uint8_t* rtp, size_t* rtp_len)
{
	return parley_srtp_compat::run(
	  [](srtp_t c, void* b, int* l) { return srtp_unprotect(c, b, l); }, ctx, srtp, srtp_len, rtp, rtp_len, 0);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcp_len, uint8_t* srtcp, size_t* srtcp_len, size_t /*mki_index*/)
{
	return parley_srtp_compat::run(
	  [](srtp_t c, void* b, int* l) { return srtp_protect_rtcp(c, b, l); },
	  ctx, rtcp, rtcp_len, srtcp, srtcp_len, SRTP_MAX_TRAILER_LEN + sizeof(uint32_t));
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcp_len, uint8_t* rtcp, size_t* rtcp_len)
{
	return parley_srtp_compat::run(
	  [](srtp_t c, void* b, int* l) { return srtp_unprotect_rtcp(c, b, l); }, ctx, srtcp, srtcp_len, rtcp, rtcp_len, 0);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t ctx, uint32_t ssrc)
{
	return srtp_remove_stream(ctx, ssrc);
}
#endif /* __cplusplus */

#endif /* PARLEY_SRTP3_COMPAT_H */
