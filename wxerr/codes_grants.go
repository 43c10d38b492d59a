package wxerr

// Errcodes of the privacy, category and plugin endpoints. Texts are from
// errcodes.txt where it has the code; the privacy codes (6103x, 8606x-8607x)
// are missing there and take the per-API page's wording.
const (
	InvalidTextSize Code = 40126

	CategoryMonthlyLimit    Code = 53300
	CategoryTotalLimit      Code = 53301
	CategorySubjectDenied   Code = 53302
	CategoryInvalidParams   Code = 53303
	CategoryDuplicate       Code = 53304
	CategoryModifyIDs       Code = 53306
	CategoryModifyNotFailed Code = 53307
	CategoryDeleteAuditing  Code = 53308
	CategoryNeedMaterial    Code = 53311

	PrivacyApplyAuditing      Code = 61031
	PrivacyVideoNotMP4        Code = 61032
	PrivacyVideoDownload      Code = 61033
	PrivacyApplyMissingParam  Code = 61034
	PrivacyAPINoApplyNeeded   Code = 61035
	PrivacyAccountIneligible  Code = 61036
	PrivacyContentNotUTF8     Code = 61037
	PrivacyOwnerSettingFields Code = 86069
	PrivacyNoticeMethod       Code = 86070
	PrivacyVerInvalid         Code = 86071
	PrivacyStoreExpire        Code = 86072
	PrivacyExtFileInvalid     Code = 86073
	PrivacyNoLiveGuide        Code = 86074
	PrivacyExtFileFixed       Code = 86075

	PluginCannotApply     Code = 89236
	PluginAlreadyApplied  Code = 89237
	PluginCountLimit      Code = 89238
	PluginNotExist        Code = 89239
	PluginOnlyApplying    Code = 89240
	PluginOnlyRefused     Code = 89241
	PluginNotInApplyList  Code = 89242
	PluginPendingNoDelete Code = 89243
	PluginAppIDNotInList  Code = 89244
	PluginNoFastUpdate    Code = 89257
	PluginGrayInProgress  Code = 89258
)

func init() {
	for c, t := range map[Code]string{
		InvalidTextSize: "invalid text size",

		CategoryMonthlyLimit:    "超出每月次数限制",
		CategoryTotalLimit:      "超出可配置类目总数限制",
		CategorySubjectDenied:   "当前账号主体类型不允许设置此种类目",
		CategoryInvalidParams:   "提交的参数不合法",
		CategoryDuplicate:       "与已有类目重复",
		CategoryModifyIDs:       "修改类目只允许修改类目资质，不允许修改类目ID",
		CategoryModifyNotFailed: "只有审核失败的类目允许修改",
		CategoryDeleteAuditing:  "审核中的类目不允许删除",
		CategoryNeedMaterial:    "需要提交资料信息",

		PrivacyApplyAuditing:      "正在审核中，请勿重复提交",
		PrivacyVideoNotMP4:        "请上传mp4格式的视频",
		PrivacyVideoDownload:      "视频下载失败",
		PrivacyApplyMissingParam:  "必填参数缺失",
		PrivacyAPINoApplyNeeded:   "the api not need apply",
		PrivacyAccountIneligible:  "该账号不满足申请条件",
		PrivacyContentNotUTF8:     "请使用UTF-8编码",
		PrivacyOwnerSettingFields: "owner_setting必填字段字段缺失",
		PrivacyNoticeMethod:       "notice_method必填",
		PrivacyVerInvalid:         "privacy_ver参数无效",
		PrivacyStoreExpire:        "store_expire_timestamp参数无效",
		PrivacyExtFileInvalid:     "ext_file_media_id参数无效",
		PrivacyNoLiveGuide:        "现网隐私协议不存在",
		PrivacyExtFileFixed:       "现网隐私协议的ext_file_media_id不可修改",

		PluginCannotApply:     "this plugin can not apply",
		PluginAlreadyApplied:  "plugin has send apply message or already bind",
		PluginCountLimit:      "plugin count reach limit",
		PluginNotExist:        "plugin no exist",
		PluginOnlyApplying:    "only applying status can be agreed or refused",
		PluginOnlyRefused:     "only refused status can be deleted, please refused first",
		PluginNotInApplyList:  "appid is no in the apply list, make sure appid is right",
		PluginPendingNoDelete: "can not delete apply request in 24 hours",
		PluginAppIDNotInList:  "plugin appid is no in the plugin list, make sure plugin appid is right",
		PluginNoFastUpdate:    "no such version",
		PluginGrayInProgress:  "code is gray online",
	} {
		texts[c] = t
	}
}
