#include "runtime/data/video.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <cfloat>
#include <cmath>
#include <memory>

#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

std::string av_message(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(err, buf, sizeof buf);
    return buf;
}

// cvRound of a float: nearest, halves to even (lrint in the default rounding mode).
uint8_t round_byte(float v) {
    const long r = std::lrint(v);
    return uint8_t(r < 0 ? 0 : r > 255 ? 255 : r);
}

// One weight of OpenCV's area resampling: output index `di` takes `alpha` of source `si`.
struct Decimate {
    int di, si;
    float alpha;
};

// OpenCV's computeResizeAreaTab.
std::vector<Decimate> area_tab(int ssize, int dsize, double scale) {
    std::vector<Decimate> tab;
    for (int dx = 0; dx < dsize; ++dx) {
        const double fsx1 = dx * scale, fsx2 = fsx1 + scale;
        const double cell = std::min(scale, ssize - fsx1);
        int sx1 = int(std::ceil(fsx1)), sx2 = int(std::floor(fsx2));
        sx2 = std::min(sx2, ssize - 1);
        sx1 = std::min(sx1, sx2);
        if (sx1 - fsx1 > 1e-3) tab.push_back({dx, sx1 - 1, float((sx1 - fsx1) / cell)});
        for (int sx = sx1; sx < sx2; ++sx) tab.push_back({dx, sx, float(1.0 / cell)});
        if (fsx2 - sx2 > 1e-3)
            tab.push_back({dx, sx2, float(std::min(std::min(fsx2 - sx2, 1.0), cell) / cell)});
    }
    return tab;
}

}  // namespace

uint8_t bgr_to_gray(uint8_t b, uint8_t g, uint8_t r) {
    // cv::cvtColor's 8-bit path (OpenCV 4): weights 0.114, 0.587, 0.299 in 15-bit fixed point.
    return uint8_t((b * 3735 + g * 19235 + r * 9798 + (1 << 14)) >> 15);
}

std::vector<uint8_t> resize_area(const std::vector<uint8_t> &src, int sw, int sh, int dw, int dh) {
    const double scale_x = double(sw) / dw, scale_y = double(sh) / dh;
    std::vector<uint8_t> dst(size_t(dw) * dh);
    if (scale_x < 1 || scale_y < 1) {
        throw InputError("area resampling enlarges " + std::to_string(sw) + "x" +
                         std::to_string(sh) + " to " + std::to_string(dw) + "x" +
                         std::to_string(dh) + "; videos must be at least the frame size");
    }
    const int ix = int(std::lround(scale_x)), iy = int(std::lround(scale_y));
    if (std::abs(scale_x - ix) < DBL_EPSILON && std::abs(scale_y - iy) < DBL_EPSILON) {
        // Integer factors: the box average (OpenCV's resizeAreaFast).
        const float scale = 1.f / float(ix * iy);
        for (int y = 0; y < dh; ++y)
            for (int x = 0; x < dw; ++x) {
                int sum = 0;
                for (int j = 0; j < iy; ++j)
                    for (int i = 0; i < ix; ++i) sum += src[size_t(y * iy + j) * sw + x * ix + i];
                dst[size_t(y) * dw + x] = round_byte(float(sum) * scale);
            }
        return dst;
    }
    // OpenCV's ResizeArea_Invoker: each source row resampled horizontally (float), weighted
    // into the output row's sum, rounded when the row is complete.
    const std::vector<Decimate> xtab = area_tab(sw, dw, scale_x), ytab = area_tab(sh, dh, scale_y);
    std::vector<float> buf(static_cast<size_t>(dw)), sum(static_cast<size_t>(dw));
    int prev = -1;
    auto flush = [&] {
        for (int x = 0; x < dw; ++x) dst[size_t(prev) * dw + x] = round_byte(sum[size_t(x)]);
    };
    for (const Decimate &yt : ytab) {
        std::fill(buf.begin(), buf.end(), 0.f);
        const uint8_t *row = &src[size_t(yt.si) * sw];
        for (const Decimate &xt : xtab) buf[size_t(xt.di)] += float(row[xt.si]) * xt.alpha;
        if (yt.di != prev) {
            if (prev >= 0) flush();
            prev = yt.di;
            for (int x = 0; x < dw; ++x) sum[size_t(x)] = yt.alpha * buf[size_t(x)];
        } else {
            for (int x = 0; x < dw; ++x) sum[size_t(x)] += yt.alpha * buf[size_t(x)];
        }
    }
    if (prev >= 0) flush();
    return dst;
}

GrayVideo read_gray_video(const std::string &path) {
    AVFormatContext *raw_format = nullptr;
    int rc = avformat_open_input(&raw_format, path.c_str(), nullptr, nullptr);
    if (rc < 0) throw InputError(path + ": cannot open the video: " + av_message(rc));
    std::unique_ptr<AVFormatContext, void (*)(AVFormatContext *)> format(
        raw_format, [](AVFormatContext *f) { avformat_close_input(&f); });
    if ((rc = avformat_find_stream_info(format.get(), nullptr)) < 0)
        throw InputError(path + ": cannot read the stream info: " + av_message(rc));
    const AVCodec *codec = nullptr;
    const int stream = av_find_best_stream(format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream < 0 || !codec) throw InputError(path + ": no video stream FFmpeg can decode");
    std::unique_ptr<AVCodecContext, void (*)(AVCodecContext *)> ctx(
        avcodec_alloc_context3(codec), [](AVCodecContext *c) { avcodec_free_context(&c); });
    avcodec_parameters_to_context(ctx.get(), format->streams[stream]->codecpar);
    if ((rc = avcodec_open2(ctx.get(), codec, nullptr)) < 0)
        throw InputError(path + ": cannot open the decoder: " + av_message(rc));
    std::unique_ptr<AVFrame, void (*)(AVFrame *)> frame(av_frame_alloc(),
                                                        [](AVFrame *f) { av_frame_free(&f); });
    std::unique_ptr<AVPacket, void (*)(AVPacket *)> packet(av_packet_alloc(),
                                                           [](AVPacket *p) { av_packet_free(&p); });
    SwsContext *sws = nullptr;
    GrayVideo video;
    std::vector<uint8_t> bgr;
    auto take_frames = [&]() {
        while ((rc = avcodec_receive_frame(ctx.get(), frame.get())) == 0) {
            const int w = frame->width, h = frame->height;
            if (video.frames.empty()) {
                video.width = w;
                video.height = h;
            } else if (w != video.width || h != video.height) {
                throw InputError(path + ": frames change size mid-stream");
            }
            // BGR24 as OpenCV's FFmpeg backend converts (bicubic scaler flags).
            sws = sws_getCachedContext(sws, w, h, AVPixelFormat(frame->format), w, h,
                                       AV_PIX_FMT_BGR24, SWS_BICUBIC, nullptr, nullptr, nullptr);
            if (!sws) throw InputError(path + ": cannot convert its pixel format to BGR");
            bgr.resize(size_t(w) * h * 3);
            uint8_t *planes[4] = {bgr.data(), nullptr, nullptr, nullptr};
            int strides[4] = {w * 3, 0, 0, 0};
            sws_scale(sws, frame->data, frame->linesize, 0, h, planes, strides);
            std::vector<uint8_t> gray(size_t(w) * h);
            for (size_t i = 0; i < gray.size(); ++i)
                gray[i] = bgr_to_gray(bgr[3 * i], bgr[3 * i + 1], bgr[3 * i + 2]);
            video.frames.push_back(std::move(gray));
        }
        if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
            throw InputError(path + ": decoding failed: " + av_message(rc));
    };
    try {
        while (av_read_frame(format.get(), packet.get()) >= 0) {
            if (packet->stream_index == stream) {
                rc = avcodec_send_packet(ctx.get(), packet.get());
                av_packet_unref(packet.get());
                if (rc < 0) throw InputError(path + ": decoding failed: " + av_message(rc));
                take_frames();
            } else {
                av_packet_unref(packet.get());
            }
        }
        avcodec_send_packet(ctx.get(), nullptr);  // drain
        take_frames();
    } catch (...) {
        sws_freeContext(sws);
        throw;
    }
    sws_freeContext(sws);
    if (video.frames.empty()) throw InputError(path + ": no frames");
    return video;
}

}  // namespace fernn
